import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { expandTree } from '../config/expand.ts';

/**
 * Keys whose string value is a credential wherever they appear in a component's config, as the Collector
 * types them `configopaque`: every value of a `headers` map (API keys, bearer tokens), and `api_key`,
 * `password`, `token`, `secret` or any `*_api_key`, `*_password`, `*_token`, `*_secret`. Any other string
 * that is a URL gives up the credentials it embeds (`urlSecrets`).
 */
const OPAQUE_KEY = /^(?:.+_)?(?:api_key|password|token|secret)$/;
/** Keys naming a file whose content is a credential (the redaction HMAC key, a token or password file). */
const OPAQUE_FILE_KEY = /^(?:.+_)?(?:key|password|token|secret)_file$/;

/**
 * Query parameters that carry a credential in the URLs backends hand out (`?api_key=`, `?token=`,
 * `?access_token=`, Google's `?key=`, signed URLs' `?sig=`). The Collector masks none of an endpoint (its
 * `endpoint` is not `configopaque`) and its exporters quote the full URL in their errors; Go's HTTP client
 * only hides a userinfo password. Both are masked here, as a user who put a key in a URL expects.
 */
const OPAQUE_QUERY_KEY =
  /^(?:.+[_-])?(?:api[_-]?key|apikey|key|password|passwd|pwd|token|secret|sig|signature)$/i;

/** A string that is a URL with an authority (`scheme://…`), the only place userinfo can be. */
const URL_WITH_AUTHORITY = /^[a-z][a-z\d+.-]*:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i;

/** Percent-decoded; in a query, `+` is a space too (form encoding). */
function decoded(s: string, form = false): string {
  try {
    return decodeURIComponent(form ? s.replace(/\+/g, ' ') : s);
  } catch {
    return s; // malformed escapes: the text as written is what would be logged
  }
}

/**
 * The credentials in a URL as written, percent-decoded and as a WHATWG URL serialises them: the userinfo
 * whole, its password (or a lone user, which services use for a token: `https://TOKEN@host`), the Basic
 * credentials an HTTP client derives from it, and the values of credential-named query parameters.
 */
function urlSecrets(value: string): string[] {
  const m = URL_WITH_AUTHORITY.exec(value);
  if (!m) return [];
  const out: string[] = [];
  const authority = m[1] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const password = colon < 0 ? '' : userinfo.slice(colon + 1);
    const secret = password || user;
    out.push(userinfo, secret, decoded(secret));
    out.push(Buffer.from(`${decoded(user)}:${decoded(password)}`).toString('base64'));
    try {
      const u = new URL(value);
      out.push(u.password || u.username);
    } catch {
      // not a URL the exporters would accept: they refuse the config, the text as written is covered above
    }
  }
  for (const pair of (m[3] ?? '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || !OPAQUE_QUERY_KEY.test(decoded(pair.slice(0, eq), true))) continue;
    const raw = pair.slice(eq + 1);
    out.push(raw, decoded(raw, true));
  }
  return out.filter((s) => s !== '');
}

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
    for (const v of node)
      if (typeof v === 'string') for (const s of urlSecrets(v)) out.add(s);
      else walk(v, out);
    return;
  }
  if (!isRecord(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'headers' && isRecord(v)) {
      for (const h of Object.values(v)) if (typeof h === 'string') out.add(h);
    } else if (typeof v === 'string' && OPAQUE_KEY.test(k)) out.add(v);
    else if (typeof v === 'string' && OPAQUE_FILE_KEY.test(k)) for (const s of fileSecret(v)) out.add(s);
    else if (typeof v === 'string') for (const s of urlSecrets(v)) out.add(s);
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
