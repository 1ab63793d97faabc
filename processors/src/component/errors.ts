/**
 * A downstream queue is full or the process is shutting down: the sender should retry later.
 * Receivers answer 503 (HTTP) / UNAVAILABLE (gRPC) with Retry-After, as the OTLP spec asks.
 */
export class BackpressureError extends Error {
  override readonly name = 'BackpressureError';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 5) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A failure that retrying cannot fix (e.g. a 400 from the backend): dropped and counted, not retried. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}
