import type { ErrorCode, ErrorInfo } from '../../contract/index.js';

/** An error meant for the user: its code and message travel to the renderer as they are. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toInfo(): ErrorInfo {
    return this.path === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, path: this.path };
  }
}

/** Any thrown value as ErrorInfo; unexpected errors keep their message but become 'internal'. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof AppError) return err.toInfo();
  if (err instanceof Error && err.name === 'AbortError') return { code: 'cancelled', message: 'cancelled' };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}
