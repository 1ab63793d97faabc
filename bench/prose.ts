/**
 * About `bytes` of text: words drawn from `vocabulary` by `rand`, space-separated (one draw per word, so
 * a seeded `rand` gives the same text every run). JSON-safe when the words are.
 */
export function randomProse(rand: () => number, vocabulary: readonly string[], bytes: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = vocabulary[Math.floor(rand() * vocabulary.length)] ?? 'x';
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ');
}
