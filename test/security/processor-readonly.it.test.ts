import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../harness/eventually.ts';
import { PROCESSOR_MAIN, processorConfig, renderConfig } from '../harness/llmobs-processor.ts';
import { freePorts } from '../harness/ports.ts';
import { httpOk } from '../harness/process.ts';
import { parseExposition, sumSamples } from '../harness/prometheus.ts';

/** The user the operator runs the processor as (operator/src/manifests/security.ts). */
const UID = 65532;

function span(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'readonly-test' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: randomBytes(16).toString('hex'),
                spanId: randomBytes(8).toString('hex'),
                name: 'chat gpt-4o',
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 1_000_000n),
                attributes: [{ key: 'user.email', value: { stringValue: 'bob@example.com' } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

/**
 * The processor as the pod runs it: a read-only root filesystem and no writable folder at all. Its working
 * directory, HOME and TMPDIR are one folder it cannot write (mode 0555, another owner); run by root, the test
 * drops to the pod's numeric user first, since root writes anywhere.
 */
describe('the processor needs no writable filesystem', () => {
  let work: string;
  let ro: string;
  let child: ChildProcess;
  let output = '';
  let endpoints: { http: string; health: string; metrics: string };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'llmobs-readonly-'));
    chmodSync(work, 0o755);
    ro = join(work, 'ro');
    mkdirSync(ro);
    const asRoot = process.getuid?.() === 0;
    let node = process.execPath;
    if (asRoot) {
      // The test's Node may live under a folder the processor's user cannot enter.
      const bin = join(work, 'bin');
      mkdirSync(bin, { mode: 0o755 });
      node = join(bin, 'node');
      try {
        linkSync(process.execPath, node);
      } catch {
        copyFileSync(process.execPath, node);
        chmodSync(node, 0o755);
      }
    }
    const names = ['grpc', 'http', 'health', 'metrics'];
    const ports = new Map((await freePorts(names.length)).map((p, i) => [names[i] ?? '', p]));
    const config = processorConfig({
      processors: { llm_redaction: { action: 'mask' } },
      exporters: { debug: { verbosity: 'basic' } },
    });
    writeFileSync(join(ro, 'config.yaml'), renderConfig(config, ports), { mode: 0o444 });
    chmodSync(ro, 0o555);
    endpoints = {
      http: `http://127.0.0.1:${ports.get('http')}`,
      health: `http://127.0.0.1:${ports.get('health')}/`,
      metrics: `http://127.0.0.1:${ports.get('metrics')}/metrics`,
    };
    child = spawn(node, [PROCESSOR_MAIN, '--config', join(ro, 'config.yaml')], {
      cwd: ro,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ro, TMPDIR: ro },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: UID, gid: UID } : {}),
    });
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    await eventually(
      'the processor to be healthy',
      async () =>
        child.exitCode === null
          ? (await httpOk(endpoints.health))
            ? true
            : undefined
          : Promise.reject(new Error(output)),
      20_000,
    );
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (work) {
      chmodSync(ro, 0o755);
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('serves OTLP through redaction, reports metrics and shuts down cleanly without writing a file', async () => {
    const res = await fetch(`${endpoints.http}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: span(),
    });
    assert.equal(res.status, 200, await res.text());
    const accepted = await eventually('the span to be counted', async () => {
      const text = await (await fetch(endpoints.metrics)).text();
      const n = sumSamples(parseExposition(text), 'otelcol_receiver_accepted_spans_total', {});
      return n !== undefined && n > 0 ? n : undefined;
    });
    assert.equal(accepted, 1);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /EACCES|EROFS|EPERM|read-only file system|permission denied/i);
    assert.deepEqual(readdirSync(ro), ['config.yaml']);
  });
});
