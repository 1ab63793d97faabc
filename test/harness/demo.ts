// `make demo`: the whole system on one machine, on real components. A control plane with a kwok node gets
// the llmobs chart through `helm install`; the real operator runs locally in place of the chart's pod (kwok
// only pretends to run it) and serves the chart's webhooks by URL; a namespace gets an LLMObservability and
// the two sample apps of examples/sample-apps, whose pods the webhook instruments and kwok runs. Then the
// gateway's rendered processor config and the apps themselves run as local processes — the apps with exactly
// the env their pods received, cluster addresses swapped for local ones, on the real instrumentation bundles
// (images/autoinstrumentation-*) copied by their pods' init container commands — real requests carrying personal
// data go through them, and a summary is read back from Jaeger, the processor and the apiserver.
// `--once` prints the summary and exits; otherwise everything stays up until Ctrl-C (or SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ANNOTATION } from '../../operator/src/api/v1alpha1/constants.ts';
import { startMockLlm } from '../mock-llm/server.ts';
import {
  deploySampleApps,
  localBundles,
  NAMESPACE,
  RESOURCE,
  type RunningApp,
  resourceStatus,
  SAMPLE_APPS,
  sendTraffic,
  startApp,
} from './demo/apps.ts';
import { startCluster } from './demo/cluster.ts';
import { startGateway } from './demo/gateway.ts';
import { collectSummary, formatSummary } from './demo/summary.ts';
import { startJaeger } from './jaeger.ts';

const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
const say = (line: string) => process.stdout.write(`${line}\n`);
const stops: (() => Promise<unknown>)[] = [];
const stopAll = async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
};
const startedAt = Date.now();

// Ctrl-C or SIGTERM: while starting, stop after the step under way (so nothing it starts is left behind);
// once up, stop at once. A second signal leaves without cleaning up.
class Interrupted extends Error {}
let interrupted: NodeJS.Signals | undefined;
let wake: (() => void) | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) process.exit(130);
  interrupted = signal;
  say(wake ? 'stopping' : `\n${signal}: stopping once the current step is done (again to leave at once)`);
  wake?.();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const checkpoint = () => {
  if (interrupted) throw new Interrupted(interrupted);
};

try {
  say('llmobs demo: starting real components (first run builds them; later runs take seconds)');
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-demo-'));
  stops.push(async () => {
    if (!process.env.LLMOBS_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });
  // The real instrumentation bundles, built on first use (pip and npm installs); warmed while the rest starts.
  const bundles = localBundles();
  bundles.catch(() => {}); // reported where it is awaited
  const [llm, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
  stops.push(
    () => llm.close(),
    () => jaeger.stop(),
  );
  checkpoint();
  say(`  mock OpenAI-compatible LLM   ${llm.url}`);
  say(`  Jaeger v2                    ${jaeger.queryUrl}`);

  const cluster = await startCluster(say);
  stops.push(() => cluster.stop());
  checkpoint();
  const { cp } = cluster;

  say(`\nnamespace ${NAMESPACE}: LLMObservability ${RESOURCE} and the sample apps (examples/sample-apps)`);
  const admitted = await deploySampleApps(cp);
  checkpoint();
  for (const { app, pod } of admitted) {
    const a = pod.metadata?.annotations ?? {};
    const inits = (pod.spec?.initContainers ?? []).map((c) => c.name).join(', ') || 'none';
    const otel = (pod.spec?.containers.find((c) => c.name === 'app')?.env ?? []).filter((e) =>
      /^(OTEL_|TRACELOOP_|OPENINFERENCE_|PYTHONPATH$|NODE_OPTIONS$)/.test(e.name),
    ).length;
    say(
      `  ${(pod.metadata?.name ?? app.name).padEnd(28)} ${app.runtime.padEnd(6)} ` +
        `${ANNOTATION.injectionStatus}=${a[ANNOTATION.injectionStatus] ?? 'none'}, init ${inits}, ` +
        `${otel} instrumentation variables; ${pod.status?.phase} on ${pod.spec?.nodeName}`,
    );
  }
  const status = await resourceStatus(cp);

  const gateway = await startGateway(cp, jaeger);
  stops.push(() => gateway.processor.stop());
  checkpoint();
  say(`\ngateway llmobs-processor-${RESOURCE}: its rendered ConfigMap run locally`);
  say(
    `  OTLP                         ${gateway.processor.otlpHttpEndpoint} (in the cluster ${status?.processorEndpoint})`,
  );
  for (const e of gateway.exporters)
    say(`  exporter ${e.id.padEnd(19)} ${e.local} (in the cluster ${e.cluster})`);

  say('\nthe apps as local processes with their pods’ env, and requests with an email and a card number:');
  const built = await bundles;
  const apps: RunningApp[] = [];
  for (const { app, pod } of admitted) {
    const running = await startApp(
      app,
      pod,
      {
        clusterProcessor: status?.processorEndpoint ?? '',
        localProcessor: gateway.processor.otlpHttpEndpoint,
        llmUrl: llm.url,
      },
      built,
      cp,
      dir,
    );
    apps.push(running);
    stops.push(() => running.process.stop());
    checkpoint();
    say(
      `  ${app.name.padEnd(10)} ${running.url}  ${running.envCount} variables from pod ${pod.metadata?.name}; ` +
        `local: ${running.changed.join(', ')}`,
    );
  }
  await Promise.all(apps.map(sendTraffic));
  checkpoint();
  for (const a of apps) {
    say(`  ${a.app.name.padEnd(10)} ${a.app.requests.length} requests answered`);
    await jaeger
      .waitForSpans(a.app.name, () => true, 30_000, a.app.expectedSpans)
      .catch(async (err: Error) => {
        const services = await jaeger.services().catch(() => []);
        throw new Error(`${err.message}; services in Jaeger: ${services.join(', ') || 'none'}`, {
          cause: err,
        });
      });
  }

  const summary = await collectSummary({
    cp,
    jaeger,
    processorMetricsUrl: gateway.processor.metricsUrl,
    genaiMetricsUrl: gateway.genaiMetricsUrl,
  });
  say('');
  for (const line of formatSummary(summary, {
    jaegerUrl: jaeger.queryUrl,
    processorMetricsUrl: gateway.processor.metricsUrl,
    genaiMetricsUrl: gateway.genaiMetricsUrl,
    operatorMetricsUrl: cluster.operatorMetricsUrl,
    kubeconfig: cp.kubeconfigPath,
  }))
    say(line);
  say(
    `\nup in ${Math.round((Date.now() - startedAt) / 1000)} s; logs and the apps' env files in ${dir}, ` +
      `the control plane's and the operator's in ${cp.dir} (LLMOBS_KEEP_TMP=1 keeps them after exit)`,
  );
  if (SAMPLE_APPS.length !== apps.length) throw new Error('not every sample app ran');

  checkpoint();
  if (values.once) {
    say('demo complete');
  } else {
    say('running; press Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  await stopAll();
} catch (err) {
  if (err instanceof Interrupted) process.exitCode = 130;
  else {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
  await stopAll();
}
