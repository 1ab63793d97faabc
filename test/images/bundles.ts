// The instrumentation bundles of images/autoinstrumentation-{python,nodejs}, built by their build.sh (what the
// Dockerfiles run) into ~/.cache/llmobs/bundles, keyed by a hash of their inputs, so a second build is free.
// Shared by the bundles' integration test and `make demo`, which both run apps on exactly these bundles.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Language } from '../../operator/src/webhook/podmutation/config.ts';
import { cacheDir, repoRoot } from '../harness/cache.ts';

const run = promisify(execFile);

/** The interpreter the Python bundle is built for and the apps run under (an image's `python`). */
export const PYTHON = process.env.LLMOBS_PYTHON ?? 'python3';

/** sha256 of every file of an image folder (names and contents) plus `extra`, shortened. */
function inputsHash(folder: string, extra: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(folder).sort()) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(folder, f)));
  }
  h.update(extra);
  return h.digest('hex').slice(0, 12);
}

export interface Built {
  readonly dir: string;
  readonly cached: boolean;
  readonly ms: number;
}

/**
 * `name` built by `build(tmp)` into the cache, once per key: built in a temporary sibling and renamed into
 * place, so a present folder is a finished one (a parallel builder that loses the rename drops its copy).
 */
async function cached(name: string, build: (out: string) => Promise<unknown>): Promise<Built> {
  const started = Date.now();
  const root = join(cacheDir(), 'bundles');
  const dir = join(root, name);
  if (existsSync(dir)) return { dir, cached: true, ms: Date.now() - started };
  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    await build(tmp);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, cached: false, ms: Date.now() - started };
}

/** The bundle of `lang`, as the image's /autoinstrumentation holds it. Python's is for `PYTHON`. */
export async function buildBundle(lang: Language): Promise<Built> {
  const folder = join(repoRoot, 'images', `autoinstrumentation-${lang}`);
  // Python bundles hold compiled wheels for the interpreter that built them.
  const runtime = lang === 'python' ? (await run(PYTHON, ['-VV'])).stdout : '';
  return cached(`${lang}-${inputsHash(folder, runtime)}`, (out) =>
    run(join(folder, 'build.sh'), [out], {
      env: { ...process.env, PYTHON },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    }),
  );
}

/**
 * A Python app's own dependencies, as its image would install them: openai, pinned by the openai-v2 test
 * client's list, without any OpenTelemetry (that comes from the bundle). Goes last on PYTHONPATH, where an
 * image's site-packages would be.
 */
export async function pythonAppDeps(): Promise<Built> {
  const constraints = join(repoRoot, 'test', 'clients', 'python', 'requirements-openai-v2.txt');
  const runtime = (await run(PYTHON, ['-VV'])).stdout;
  const openai = /^openai==\S+$/m.exec(readFileSync(constraints, 'utf8'))?.[0];
  if (!openai) throw new Error(`${constraints} pins no openai`);
  const key = createHash('sha256')
    .update(readFileSync(constraints))
    .update(runtime)
    .digest('hex')
    .slice(0, 12);
  return cached(`python-app-${key}`, (out) =>
    run(
      PYTHON,
      [
        ...['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--quiet'],
        ...['--target', out, '-c', constraints, openai],
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
    ),
  );
}
