/**
 * The trace id's randomness as a fraction in [0, 1): its least significant 56 bits (bytes 9–15),
 * which W3C Trace Context level 2 requires to be random and OTel's consistent probability sampling
 * reads. Every replica and every processor computes the same value for a trace, so decisions made
 * from it agree without coordination.
 */
export function traceRandomness(traceId: Uint8Array | undefined): number {
  if (!traceId || traceId.length < 16) return 0;
  let f = 0;
  for (let i = 15; i >= 9; i--) f = (f + (traceId[i] as number)) / 256;
  return f;
}

/** Whether a trace falls in the kept `percentage` (0–100): its randomness is at least 1 − p. */
export function traceSampled(traceId: Uint8Array | undefined, percentage: number): boolean {
  if (percentage >= 100) return true;
  if (percentage <= 0) return false;
  return traceRandomness(traceId) >= 1 - percentage / 100;
}
