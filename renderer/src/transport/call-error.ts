import type { ErrorCode, ErrorInfo } from '../../../contract/index.js';

/** A request that failed: the contract's error code and message, as the user should read them. */
export class CallError extends Error {
  readonly code: ErrorCode | 'disconnected';
  readonly path: string | undefined;

  constructor(info: ErrorInfo | { code: 'disconnected'; message: string; path?: string }) {
    super(info.message);
    this.name = 'CallError';
    this.code = info.code;
    this.path = info.path;
  }
}

/** The message to show for any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
