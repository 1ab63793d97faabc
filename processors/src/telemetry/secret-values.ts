import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { expandTree } from '../config/expand.ts';

/**
 * Keys whose string value is a credential wherever they appear in a component's config, as the Collector
 * types them `configopaque`: every value of a `headers` map (API keys, bearer tokens), and `api_key`,
 * `password`, `token`, `secret` or any `*_api_key`, `*_password`, `*_token`, `*_secret`.
 */
const OPAQUE_KEY = /^(?:.+_)?(?:api_key|password|token|secret)$/;
/** Keys naming a file whose content is a credential (the redaction HMAC key, a token or password file). */
const OPAQUE_FILE_KEY = /^(?:.+_)?(?:key|password|token|secret)_file$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fileSecret(path: string): string[] {
  try {
    const text = readFileSync(path, 'utf8');
    const trimmed = text.replace(/\r?\n$/, '');
    return trimmed === text ? [text] : [text, trimmed];
  } catch {
    return []; // the component reports the unreadable file itself
  }
}

function walk(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const v of node) walk(v, out);
    return;
  }
  if (!isRecord(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'headers' && isRecord(v)) {
      for (const h of Object.values(v)) if (typeof h === 'string') out.add(h);
    } else if (typeof v === 'string' && OPAQUE_KEY.test(k)) out.add(v);
    else if (typeof v === 'string' && OPAQUE_FILE_KEY.test(k)) for (const s of fileSecret(v)) out.add(s);
    else walk(v, out);
  }
}

/**
 * The credentials a config text carries once `${env:…}` is expanded, and the contents of the key files it
 * names. Read from the text itself, so a config that fails validation still has its secrets found.
 * Never throws: an unreadable config has none.
 */
export function secretValuesOf(text: string, env: NodeJS.ProcessEnv): Set<string> {
  const out = new Set<string>();
  let parsed: unknown;
  try {
    parsed = yaml.load(text);
  } catch {
    return out;
  }
  try {
    walk(expandTree(parsed, env, new Set()), out);
  } catch {
    // Too large to expand (an alias bomb): the load refuses it, so it has no secrets to hide either.
  }
  return out;
}
