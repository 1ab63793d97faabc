/**
 * Expands `${env:VAR}`, `${env:VAR:-default}` and the bare `${VAR}` form in config strings, as the
 * Collector does; `$$` stands for a literal `$`. Unset variables become "" and are reported so the
 * caller can warn, which is the Collector's behaviour too.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv, unset: Set<string>): string {
  return text.replace(
    /\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (match, name?: string, def?: string) => {
      if (match === '$$') return '$';
      if (name === undefined) return match;
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      unset.add(name);
      return '';
    },
  );
}

/**
 * More values than any real config holds. YAML aliases let a few hundred bytes name billions of values
 * (`b: [*a, *a, …]`, nested): walking that tree would hang the load, so it stops here instead.
 */
export const MAX_CONFIG_VALUES = 100_000;

/** The config has more values than MAX_CONFIG_VALUES once its YAML aliases are followed. */
export class ConfigTooLargeError extends Error {
  override readonly name = 'ConfigTooLargeError';
}

/**
 * Applies expandEnv to every string in a parsed YAML tree (keys stay as written). Throws
 * ConfigTooLargeError past MAX_CONFIG_VALUES values.
 */
export function expandTree(
  value: unknown,
  env: NodeJS.ProcessEnv,
  unset: Set<string>,
  budget = { left: MAX_CONFIG_VALUES },
): unknown {
  if (--budget.left < 0) {
    throw new ConfigTooLargeError(
      `config holds more than ${MAX_CONFIG_VALUES} values once YAML aliases are expanded`,
    );
  }
  if (typeof value === 'string') return expandEnv(value, env, unset);
  if (Array.isArray(value)) return value.map((v) => expandTree(v, env, unset, budget));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandTree(v, env, unset, budget);
    return out;
  }
  return value;
}
