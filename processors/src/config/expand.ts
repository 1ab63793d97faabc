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

/** Applies expandEnv to every string in a parsed YAML tree (keys stay as written). */
export function expandTree(value: unknown, env: NodeJS.ProcessEnv, unset: Set<string>): unknown {
  if (typeof value === 'string') return expandEnv(value, env, unset);
  if (Array.isArray(value)) return value.map((v) => expandTree(v, env, unset));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandTree(v, env, unset);
    return out;
  }
  return value;
}
