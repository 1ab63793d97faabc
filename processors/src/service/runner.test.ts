import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { ConfigError, Runner } from './runner.ts';

/** Collects the runner's JSON log lines. */
function logSink(): { stream: Writable; lines: { msg: string; [k: string]: unknown }[] } {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines };
}

/** A config whose listeners all take port 0: nothing to collide with, nothing a test needs to reach. */
const config = (exporters: string, extra = '') => `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:0" }
exporters:
${exporters}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [${extra || 'debug'}] }
`;

describe('Runner reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('applies a valid change, rejects a broken or unreadable file and keeps running, ignores no-ops', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, config('  debug: {}'));
    const log = logSink();
    const runner = new Runner({
      configPath: path,
      defaultYaml: '',
      watch: false,
      processMetrics: false,
      logDestination: log.stream,
    });
    const reloads = async (result: string) =>
      (await runner.telemetry.reloads.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
    await runner.start();
    try {
      assert.equal(runner.status().ready, true);

      await runner.reload();
      assert.deepEqual(
        [await reloads('applied'), await reloads('rejected')],
        [0, 0],
        'unchanged: nothing to do',
      );

      writeFileSync(
        path,
        config('  debug: {}\n  debug/second: { verbosity: normal }', 'debug, debug/second'),
      );
      await runner.reload();
      assert.equal(await reloads('applied'), 1);
      assert.equal(runner.status().ready, true);

      writeFileSync(path, config('  debug: { verbosity: loud }'));
      await runner.reload();
      assert.equal(await reloads('rejected'), 1);
      const rejected = log.lines.find(
        (l) => l.msg === 'config reload rejected; keeping the running configuration',
      );
      assert.deepEqual(rejected?.problems, [
        'exporters.debug.verbosity: must be one of "basic", "normal", "detailed"',
      ]);
      await runner.reload();
      assert.equal(await reloads('rejected'), 1, 'the same broken file is not rejected twice');

      unlinkSync(path);
      await runner.reload();
      assert.equal(await reloads('rejected'), 2);
      assert.ok(log.lines.some((l) => l.msg.startsWith('config reload rejected: cannot read the file')));
      assert.equal(runner.status().ready, true, 'still running the last good configuration');
      assert.equal(await reloads('applied'), 1);
    } finally {
      await runner.shutdown(Date.now() + 1000);
    }
    assert.equal(runner.status().ready, false);
  });
});

describe('Runner start', () => {
  test('an invalid config is a ConfigError carrying every problem', async () => {
    const runner = new Runner({
      defaultYaml: config('  otlp_grpc: {}', 'otlp_grpc, missing'),
      processMetrics: false,
      logDestination: logSink().stream,
    });
    await assert.rejects(runner.start(), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'exporters.otlp_grpc.endpoint: must be set',
        'service.pipelines.traces.exporters: references exporter "missing" which is not configured',
      ]);
      return true;
    });
  });

  test('a service that cannot start leaves no /metrics server behind to keep the process alive', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    const runner = new Runner({
      defaultYaml: `
receivers:
  otlp:
    protocols:
      http: { endpoint: "127.0.0.1:${port}" }
exporters:
  debug: {}
service:
  telemetry: { metrics: { address: "127.0.0.1:0" } }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`,
      processMetrics: false,
      logDestination: logSink().stream,
    });
    try {
      await assert.rejects(
        runner.start(),
        new RegExp(`otlp receiver cannot listen on 127\\.0\\.0\\.1:${port}`),
      );
      assert.equal(runner.metricsAddress, undefined, 'the metrics server was closed');
    } finally {
      taken.close();
    }
  });
});
