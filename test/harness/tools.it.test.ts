import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { toolsDir } from './cache.ts';

const run = promisify(execFile);

test('a failed build says which component failed and why in one line, and keeps the Go output in a log', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'llmobs-buildfail-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const err = await run(join(toolsDir, 'build.sh'), ['kwok'], {
    env: { ...process.env, LLMOBS_CACHE: cache, LLMOBS_KWOK_VERSION: 'v0.0.1-doesnotexist' },
  }).then(
    () => assert.fail('the build of a version that does not exist succeeded'),
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.equal(err.stdout, '', 'no binary path is printed');
  const failures = err.stderr.split('\n').filter((l) => l.includes('failed'));
  assert.equal(failures.length, 1, err.stderr);
  const line = failures[0] ?? '';
  assert.match(
    line,
    /^harness: build of kwok v0\.0\.1-doesnotexist failed: .*v0\.0\.1-doesnotexist.* \(full log: (.+)\)$/,
  );
  const log = /\(full log: (.+)\)$/.exec(line)?.[1] ?? '';
  assert.match(readFileSync(log, 'utf8'), /go install/, 'the log holds the whole Go output');
});
