/**
 * An AWS service error raised by the local region. It mirrors the SDK's service exceptions: `name` is the AWS error
 * code (`InvalidInstanceID.NotFound`), so `isNotFound(err)`-style helpers read it the same on the mock path and on
 * the wire path (where the real SDK rebuilds an exception from the XML/JSON error).
 */
export class RegionError extends Error {
  /** HTTP status AWS answers with for this error (EC2 client errors: 400, throttling: 503). */
  readonly statusCode: number;
  /** Kept for parity with SDK exceptions (`$fault`): `client` for 4xx, `server` for 5xx. */
  readonly $fault: 'client' | 'server';

  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.name = code;
    this.statusCode = statusCode;
    this.$fault = statusCode >= 500 ? 'server' : 'client';
  }
}

/** Shorthand used throughout the model: `throw regionError('InvalidParameterValue', '...')`. */
export function regionError(code: string, message: string, statusCode = 400): RegionError {
  return new RegionError(code, message, statusCode);
}

/** True when `e` is a RegionError (or any error) whose AWS code is `code`. */
export function hasCode(e: unknown, code: string): boolean {
  return e instanceof Error && e.name === code;
}
