import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder of the harness's shell tools (build.sh, versions.env, ...). */
export const toolsDir = join(dirname(fileURLToPath(import.meta.url)), 'tools');

/** Root of the repository checkout. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where builds, venvs and unpacked packages are cached: outside the repo, keyed by version. */
export function cacheDir(): string {
  const explicit = process.env.LLMOBS_CACHE;
  if (explicit) return explicit;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'llmobs');
}

/** The pinned component versions, read from tools/versions.env (the one place they are set). */
export function versions(): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(toolsDir, 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}
