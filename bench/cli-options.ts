/** A wrong option: the message and the usage on stderr, exit 2 (the benchmarks' usage error). */
export function usageError(usage: string, message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

/** The option's value as a number in [min, max], or a usage error. */
export function numberIn(
  usage: string,
  name: string,
  v: string | undefined,
  min: number,
  max: number,
): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max)
    usageError(usage, `--${name} must be a number in ${min}..${max}`);
  return x;
}

/** The option's value as a number in (0, max], or a usage error. */
export function positiveUpTo(usage: string, name: string, v: string | undefined, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    usageError(usage, `--${name} must be a number in (0, ${max}], got ${v}`);
  return n;
}
