import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROCESSOR_MAIN, processorConfig, startProcessor } from '../harness/llmobs-processor.ts';
import { freePort } from '../harness/ports.ts';

const run = promisify(execFile);

/** Runs the processor's CLI to completion; returns its exit code and output. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [PROCESSOR_MAIN, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('llmobs-processor command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-processor-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const BROKEN = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  otlp_grpc: {}
  otlp_http/x:
    endpoint: http://127.0.0.1:1
    retry_on_failure:
      initial_interval: soon
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_grpc, nope] }
`;

  test('validate accepts a valid config with exit code 0', async () => {
    const path = file(
      'valid.yaml',
      `
receivers:
  otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" } } }
exporters:
  otlphttp: { endpoint: "\${env:BACKEND:-http://127.0.0.1:4318}" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
`,
    );
    const r = await cli(['validate', '--config', path]);
    assert.deepEqual(r, { code: 0, stdout: `${path} is valid\n`, stderr: '' });
  });

  test('validate lists every problem with its path and exits 1', async () => {
    const path = file('broken.yaml', BROKEN);
    const r = await cli(['validate', '--config', path]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `${path} is invalid:
  exporters.otlp_grpc.endpoint: must be set
  exporters.otlp_http/x.retry_on_failure.initial_interval: invalid duration "soon" (use e.g. 200ms, 5s, 1m)
  service.pipelines.traces.exporters: references exporter "nope" which is not configured
`,
    );
  });

  test('the embedded default config is valid', async () => {
    const r = await cli(['validate']);
    assert.deepEqual([r.code, r.stdout], [0, 'default config is valid\n']);
  });

  test('running with an invalid config exits 1 and logs every problem', async () => {
    const r = await cli(['--config', file('broken-run.yaml', BROKEN)]);
    assert.equal(r.code, 1);
    const fatal = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; problems?: string[] })
      .find((l) => l.level === 'fatal');
    assert.equal(fatal?.msg, 'invalid configuration');
    assert.equal(fatal?.problems?.length, 3);
  });

  test('a port already taken is a clean exit 1 naming the address, not a hang', async () => {
    const first = await startProcessor({ config: processorConfig({ exporters: { debug: {} } }) });
    try {
      const grpc = first.otlpGrpcEndpoint;
      // /metrics starts first and listens fine; the receiver then cannot. The process must still exit.
      const taken = file(
        'taken.yaml',
        `
receivers:
  otlp: { protocols: { grpc: { endpoint: "${grpc}" } } }
exporters:
  debug: {}
service:
  telemetry: { metrics: { address: "127.0.0.1:${await freePort()}" } }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`,
      );
      const r = await cli(['--config', taken]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`otlp receiver cannot listen on ${grpc.replace('.', '\\.')} \\(grpc\\)`),
      );
      assert.match(r.stderr, /"msg":"cannot start"/);
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });

  test('unknown commands and flags exit 2 with the usage', async () => {
    const cmd = await cli(['frobnicate']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command "frobnicate"\nusage:/);
    const flag = await cli(['--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /usage:/);
    const timeout = await cli(['--shutdown-timeout', 'forever']);
    assert.deepEqual([timeout.code, timeout.stderr], [2, 'invalid --shutdown-timeout "forever"\n']);
  });
});
