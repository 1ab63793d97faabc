/** The sender's payload cannot be decoded: answered with HTTP 400 / gRPC INVALID_ARGUMENT, never retried. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}
