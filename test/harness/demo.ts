// `make demo`: the whole system, locally, on real components. For now that is the data path —
// instrumented OpenAI clients → the llmobs processor → Jaeger — next to a real control plane whose
// pods kwok runs; the operator joins it as it lands. `--once` runs the flow, prints, and exits.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { startMockLlm } from '../mock-llm/server.ts';
import { repoRoot } from './cache.ts';
import { runNodeClient, runPythonClient } from './clients.ts';
import { startControlPlane } from './control-plane.ts';
import { startJaeger } from './jaeger.ts';
import { startKwok } from './kwok.ts';
import { freePorts } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';

const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
const say = (line: string) => process.stdout.write(`${line}\n`);
const stops: (() => Promise<void>)[] = [];
const stopAll = async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
};

try {
  say('llmobs demo: starting real components (first run builds them; later runs take seconds)');
  const [llm, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
  stops.push(
    () => llm.close(),
    () => jaeger.stop(),
  );
  say(`  mock OpenAI-compatible LLM   ${llm.url}`);
  say(`  Jaeger v2 (query API)        ${jaeger.queryUrl}`);

  const [grpcPort, httpPort, healthPort, metricsPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-demo-'));
  const configPath = join(dir, 'processor.yaml');
  writeFileSync(
    configPath,
    yaml.dump({
      extensions: { health_check: { endpoint: `127.0.0.1:${healthPort}` } },
      receivers: {
        otlp: {
          protocols: {
            grpc: { endpoint: `127.0.0.1:${grpcPort}` },
            http: { endpoint: `127.0.0.1:${httpPort}` },
          },
        },
      },
      processors: { memory_limiter: { check_interval: '1s', limit_mib: 512 }, llm_redaction: {} },
      exporters: {
        'otlp_grpc/jaeger': { endpoint: jaeger.otlpGrpcEndpoint, tls: { insecure: true } },
        debug: { verbosity: 'basic' },
      },
      service: {
        extensions: ['health_check'],
        telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
        pipelines: {
          traces: {
            receivers: ['otlp'],
            processors: ['memory_limiter', 'llm_redaction'],
            exporters: ['otlp_grpc/jaeger', 'debug'],
          },
        },
      },
    }),
  );
  const processor = ManagedProcess.start({
    name: 'llmobs-processor',
    logDir: dir,
    command: process.execPath,
    args: [join(repoRoot, 'processors', 'src', 'main.ts'), '--config', configPath],
  });
  stops.push(() => processor.stop());
  await processor.waitUntil(() => httpOk(`http://127.0.0.1:${healthPort}/`), 'processor health', 30_000);
  say(`  llmobs processor             OTLP http://127.0.0.1:${httpPort} grpc 127.0.0.1:${grpcPort}`);
  say(
    `                               metrics http://127.0.0.1:${metricsPort}/metrics  (config ${configPath})`,
  );

  const cp = await startControlPlane({ scheduler: true, controllerManager: true });
  stops.push(() => cp.stop());
  const kwok = await startKwok(cp);
  stops.push(() => kwok.stop());
  await kwok.addNode('demo-node');
  const kc = cp.kubeConfig();
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'llm-app' } } });
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: 'llm-app',
    body: {
      metadata: { name: 'chat-api' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'chat-api' } },
        template: {
          metadata: { labels: { app: 'chat-api' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/chat-api:1' }] },
        },
      },
    },
  });
  say(`  kube-apiserver + kwok        KUBECONFIG=${cp.kubeconfigPath}`);

  say('\nsending LLM calls from instrumented clients through the processor:');
  const endpoint = `http://127.0.0.1:${httpPort}`;
  await runPythonClient({
    variant: 'openai-v2',
    scenario: 'chat',
    llmBaseUrl: llm.url,
    otlpEndpoint: endpoint,
    serviceName: 'support-bot-python',
    captureContent: true,
    prompt: 'Hi, I am jane.doe@example.com, card 4111 1111 1111 1111. Where is my order?',
  });
  await runNodeClient({
    scenario: 'chat',
    llmBaseUrl: llm.url,
    otlpEndpoint: endpoint,
    serviceName: 'support-bot-node',
  });

  say('\nwhat Jaeger received (read back through its query API):');
  for (const service of ['support-bot-python', 'support-bot-node']) {
    const spans = await jaeger.waitForSpans(
      service,
      (s) => s.attributes['gen_ai.usage.input_tokens'] !== undefined,
      30_000,
    );
    for (const s of spans) {
      const a = s.attributes;
      say(
        `  ${service.padEnd(20)} ${s.name.padEnd(26)} model=${String(a['gen_ai.request.model'])} ` +
          `input_tokens=${String(a['gen_ai.usage.input_tokens'])} output_tokens=${String(a['gen_ai.usage.output_tokens'])}`,
      );
      const input = a['gen_ai.input.messages'];
      if (input !== undefined)
        say(`  ${''.padEnd(20)} prompt as stored (redacted by the processor): ${String(input)}`);
    }
  }
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'llm-app' });
  say('\npods in namespace llm-app (scheduled onto a kwok node):');
  for (const p of pods.items) say(`  ${p.metadata?.name} ${p.status?.phase} ${p.status?.podIP ?? ''}`);

  if (values.once) {
    say('\ndemo complete');
  } else {
    say('\nrunning; press Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }
  await stopAll();
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  process.exitCode = 1;
}
