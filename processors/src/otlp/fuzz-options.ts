import type fc from 'fast-check';

/**
 * Settings every fuzz test shares. The seed is fixed so CI is repeatable; fast-check prints it, with the
 * path of the failing case, in every failure, and LLMOBS_FUZZ_SEED / LLMOBS_FUZZ_RUNS replay it or run
 * longer (e.g. a new seed per night: LLMOBS_FUZZ_SEED=$(date +%s) LLMOBS_FUZZ_RUNS=20000).
 */
export function fuzzOptions<Ts>(defaultRuns: number): fc.Parameters<Ts> {
  const seed = Number(process.env.LLMOBS_FUZZ_SEED ?? 20_261_123);
  const scale = Number(process.env.LLMOBS_FUZZ_RUNS ?? 0);
  return { seed, numRuns: scale > 0 ? scale : defaultRuns, endOnFailure: false };
}
