import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultRegistry } from '../../processors/src/service/registry.ts';
import { type RunningCollector, startCollector } from '../harness/collector.ts';
import { processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import type { ReceivedSpan } from '../harness/otlp-file.ts';
import { assertAllExported, assertCopies, type EmittedTrace, emitTrace, recording } from './traces.ts';

describe('hot reload of the config file', () => {
  let sink: RunningCollector;
  let proc: RunningProcessor;
  let blocker: Server;

  // v1: one exporter over OTLP/HTTP.
  const v1 = () =>
    processorConfig({
      exporters: { 'otlp_http/sink': { endpoint: sink.otlpHttpEndpoint } },
    });
  // v2: a header on the first exporter and a second exporter, over gRPC, to the same Collector.
  const v2 = () =>
    processorConfig({
      exporters: {
        'otlp_http/sink': { endpoint: sink.otlpHttpEndpoint, headers: { 'x-llmobs-config': 'v2' } },
        'otlp_grpc/sink': { endpoint: sink.otlpGrpcEndpoint, tls: { insecure: true } },
      },
    });

  before(async () => {
    sink = await startCollector({ name: 'otelcol-reload' });
    proc = await startProcessor({ config: v1() });
    // A port someone else holds, for a config that validates but cannot start.
    blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
  });
  after(async () => {
    blocker?.close();
    const code = await proc?.stop();
    await sink?.stop();
    assert.equal(code, 0);
  });

  const reloads = async (result: 'applied' | 'rejected') =>
    (await proc.metric('llmobs_config_reloads_total', { result })) ?? 0;

  /** Sends one trace; returns it and every copy of its spans the sink got, once `copies` of each arrived. */
  async function roundTrip(copies: number): Promise<{ sent: EmittedTrace; got: ReceivedSpan[] }> {
    const exporter = recording(new ProtoExporter({ url: `${proc.otlpHttpEndpoint}/v1/traces` }));
    const sent = await emitTrace(exporter, `reload-${randomBytes(4).toString('hex')}`);
    assertAllExported(exporter, 3);
    const got = await sink.waitForSpans(
      (s) => s.resource.attributes['resource.marker'] === sent.marker,
      15_000,
      3 * copies,
    );
    return { sent, got };
  }

  test('a valid change is applied: the second exporter starts receiving', async () => {
    const before = await roundTrip(1);
    assertCopies(before.got, before.sent, 1);

    await proc.rewriteConfig(v2());
    await proc.waitForMetric('llmobs_config_reloads_total', { result: 'applied' }, (v) => v === 1);
    assert.equal(await proc.healthy(), true);
    assert.ok(proc.logs().some((l) => l.msg === 'configuration reloaded'));

    const after = await roundTrip(2);
    assertCopies(after.got, after.sent, 2);
    await sink.waitForSelfMetric('otelcol_receiver_accepted_spans', { transport: 'grpc' }, (v) => v === 3);
    await proc.waitForMetric(
      'otelcol_exporter_sent_spans_total',
      { exporter: 'otlp_grpc/sink' },
      (v) => v === 3,
    );
  });

  test('a broken config is rejected with its problems logged, and the running pipeline carries on', async () => {
    const broken = v2() as { exporters: Record<string, unknown>; service: Record<string, unknown> };
    broken.exporters['otlp_httpx/typo'] = { endpoint: sink.otlpHttpEndpoint };
    await proc.rewriteConfig(broken);
    await proc.waitForMetric('llmobs_config_reloads_total', { result: 'rejected' }, (v) => v === 1);
    const rejection = proc
      .logs()
      .find((l) => l.msg === 'config reload rejected; keeping the running configuration');
    assert.ok(rejection, 'the rejection is logged');
    assert.deepEqual(rejection.problems, [
      `exporters.otlp_httpx/typo: unknown type: "otlp_httpx" for id: "otlp_httpx/typo" (valid values: [${defaultRegistry().types('exporters').join(' ')}])`,
    ]);
    assert.equal(await proc.healthy(), true, 'still ready');

    await proc.rewriteConfig('receivers: [this is: not valid yaml');
    await proc.waitForMetric('llmobs_config_reloads_total', { result: 'rejected' }, (v) => v === 2);

    const still = await roundTrip(2);
    assertCopies(still.got, still.sent, 2);
    assert.equal(await reloads('applied'), 1);
  });

  test('a config that validates but cannot start is rolled back to the running one', async () => {
    const address = blocker.address();
    assert.ok(address && typeof address === 'object');
    const clash = v2() as { extensions: { health_check: { endpoint: string } } };
    clash.extensions.health_check.endpoint = `127.0.0.1:${address.port}`;
    await proc.rewriteConfig(clash);
    await proc.waitForMetric('llmobs_config_reloads_total', { result: 'rejected' }, (v) => v === 3);
    await proc.waitForLog(
      (l) => l.msg === 'new configuration failed to start; restoring the previous one',
      'the rollback to be logged',
    );
    const rollback = proc.logs().find((l) => l.msg.startsWith('new configuration failed to start'));
    assert.match(
      String((rollback?.err as { message?: string } | undefined)?.message),
      new RegExp(`^health_check cannot listen on 127\\.0\\.0\\.1:${address.port}: .*EADDRINUSE`),
    );
    assert.equal(await proc.healthy(), true, 'the previous health_check is back on its port');

    const restored = await roundTrip(2);
    assertCopies(restored.got, restored.sent, 2);
    assert.equal(await reloads('applied'), 1);
    assert.equal(await proc.metric('llmobs_dropped_items_total'), undefined, 'no reload lost data');
  });
});
