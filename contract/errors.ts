// Errors that cross a process boundary. Every failed request carries exactly one ErrorInfo.

export type ErrorCode =
  | 'bad_request' // the message or its params do not match the contract
  | 'unknown_method'
  | 'unauthorized' // missing or wrong token, foreign origin, untrusted sender
  | 'not_found'
  | 'unsupported' // a format or option the app does not handle
  | 'corrupt_input' // a file that claims a format but is broken
  | 'too_large' // hostile or unreasonable sizes
  | 'conflict'
  | 'cancelled'
  | 'internal';

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** Where in the params the problem is, e.g. "params.folder". */
  path?: string;
}
