#!/usr/bin/env node
// llmobs-operator: reconciles LLMObservability resources and serves the pod-injection and policy webhooks.
// Flags match what the helm chart passes (charts/llmobs/templates/deployment.yaml); --kubeconfig and
// --webhook-url are for running outside a cluster (the apiserver then calls the webhook by URL).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  KubeConfig,
  type KubeConfig as KubeConfigType,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
  VersionApi,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  ANNOTATION,
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  POLICY_PLURAL,
  VERSION,
} from './api/v1alpha1/constants.ts';
import { KubeClusterWriter } from './controller/cluster-writer.ts';
import { InjectionSources } from './controller/injection-sources.ts';
import { LLMObservabilityReconciler } from './controller/llmobservability.ts';
import { podView, uninstrumentedFor } from './controller/pod-cache.ts';
import { policyValidator } from './controller/policy-validator.ts';
import type { Stores } from './controller/ports.ts';
import { rolloutPod } from './controller/rollout.ts';
import type { LLMObservability, LLMObservabilityPolicy } from './manifests/resources.ts';
import { Controller, enqueueOwner, generationChanged, mapSource } from './runtime/controller.ts';
import { type Informer, informerFor } from './runtime/informer.ts';
import { LeaderElector, leaseLock } from './runtime/leader.ts';
import type { Request } from './runtime/reconciler.ts';
import { countKubeRequests } from './runtime/request-metrics.ts';
import { serviceDnsNames } from './webhook/certs.ts';
import { InformerNamespaceLookup, KubeNamespaceLookup } from './webhook/namespaces.ts';
import { defaultWebhookSettings, supportsNativeSidecars } from './webhook/podmutation/config.ts';
import { startInjectionWebhook } from './webhook/start.ts';

const USAGE = `usage: llmobs-operator [flags]
  --namespace NS                         namespace the operator runs in (default: $POD_NAMESPACE or llmobs-system)
  --leader-elect                         run the reconciler only while holding the Lease
  --leader-election-id NAME              Lease name (default llmobs-operator-leader)
  --webhook-port PORT                    HTTPS port of the webhooks (default 9443)
  --webhook-service NAME                 Service the apiserver calls the webhooks through (default llmobs-webhook)
  --webhook-url URL                      call the webhooks at this URL instead (out of cluster)
  --webhook-secret NAME                  Secret holding the webhook CA and certificate (default llmobs-webhook-tls)
  --webhook-cert-dir DIR                 serve tls.crt / tls.key from DIR (a mounted cert-manager or user Secret),
                                         reloaded when they change; no Secret, webhook configuration or caBundle
                                         is written (instead of --webhook-secret)
  --mutating-webhook-configuration NAME  (default llmobs)
  --validating-webhook-configuration NAME  keep its caBundle current (default: none)
  --excluded-namespaces A,B              never injected (kube-system always)
  --webhook-failure-policy Ignore|Fail   the pod webhook's failurePolicy (default Ignore: fail open)
  --webhook-timeout-seconds N            the pod webhook's timeoutSeconds, 1-30 (default 5)
  --max-concurrent-reconciles N          resources reconciled at once, 1-64 (default 4; one key never twice)
  --metrics-bind-address ADDR            Prometheus /metrics (default :8080, "0" disables)
  --health-probe-bind-address ADDR       /healthz and /readyz (default :8081, "0" disables)
  --processor-image REF                  processor image for gateways and sidecars
  --instrumentation-image-python REF     Python GenAI bundle image
  --instrumentation-image-nodejs REF     Node.js GenAI bundle image
  --kubeconfig FILE                      out of cluster
  --log-level LEVEL                      debug, info, warn, error (default info)`;

function hostPort(addr: string, fallbackHost = '0.0.0.0'): { host: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : fallbackHost;
  return { host: host === '' ? fallbackHost : host, port: Number(addr.slice(i + 1)) };
}

async function listen(server: Server, addr: { host: string; port: number }, what: string): Promise<void> {
  server.listen(addr.port, addr.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw new Error(`cannot serve ${what} on ${addr.host}:${addr.port}: ${(err as Error).message}`);
    }),
  ]);
}

function labelsOf(
  obj: { metadata?: { labels?: Record<string, string> } } | undefined,
): Record<string, string> | undefined {
  return obj ? (obj.metadata?.labels ?? {}) : undefined;
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string' },
        'leader-elect': { type: 'boolean', default: false },
        'leader-election-id': { type: 'string', default: 'llmobs-operator-leader' },
        'webhook-port': { type: 'string', default: '9443' },
        'webhook-service': { type: 'string', default: 'llmobs-webhook' },
        'webhook-url': { type: 'string' },
        'webhook-secret': { type: 'string', default: 'llmobs-webhook-tls' },
        'webhook-cert-dir': { type: 'string' },
        'mutating-webhook-configuration': { type: 'string', default: 'llmobs' },
        'validating-webhook-configuration': { type: 'string' },
        'excluded-namespaces': { type: 'string', default: '' },
        'webhook-failure-policy': { type: 'string', default: 'Ignore' },
        'webhook-timeout-seconds': { type: 'string', default: '5' },
        'max-concurrent-reconciles': { type: 'string', default: '4' },
        'metrics-bind-address': { type: 'string', default: ':8080' },
        'health-probe-bind-address': { type: 'string', default: ':8081' },
        'processor-image': { type: 'string', default: 'ghcr.io/llmobs/processor:0.1.0' },
        'instrumentation-image-python': {
          type: 'string',
          default: 'ghcr.io/llmobs/autoinstrumentation-python:0.1.0',
        },
        'instrumentation-image-nodejs': {
          type: 'string',
          default: 'ghcr.io/llmobs/autoinstrumentation-nodejs:0.1.0',
        },
        kubeconfig: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const str = (k: string) => String(values[k] ?? '');
  const webhookFailurePolicy = str('webhook-failure-policy');
  const webhookTimeout = Number(str('webhook-timeout-seconds'));
  if (webhookFailurePolicy !== 'Ignore' && webhookFailurePolicy !== 'Fail') {
    process.stderr.write(`--webhook-failure-policy must be Ignore or Fail, got "${webhookFailurePolicy}"\n`);
    return 2;
  }
  if (!Number.isInteger(webhookTimeout) || webhookTimeout < 1 || webhookTimeout > 30) {
    process.stderr.write(
      `--webhook-timeout-seconds must be an integer from 1 to 30, got "${str('webhook-timeout-seconds')}"\n`,
    );
    return 2;
  }
  const maxConcurrentReconciles = Number(str('max-concurrent-reconciles'));
  if (
    !Number.isInteger(maxConcurrentReconciles) ||
    maxConcurrentReconciles < 1 ||
    maxConcurrentReconciles > 64
  ) {
    process.stderr.write(
      `--max-concurrent-reconciles must be an integer from 1 to 64, got "${str('max-concurrent-reconciles')}"\n`,
    );
    return 2;
  }
  const log = pino({
    level: str('log-level'),
    base: { service: 'llmobs-operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  const namespace = str('namespace') || process.env.POD_NAMESPACE || 'llmobs-system';
  const kc: KubeConfigType = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(str('kubeconfig'));
  else kc.loadFromDefault();
  const registry = new Registry();
  // process_* (CPU, resident memory) and nodejs_* (heap, event-loop delay), as controller-runtime exposes its own.
  collectDefaultMetrics({ register: registry });
  // Before any API client is made: every request of this process is counted by verb and resource.
  countKubeRequests(kc, registry);
  const abort = new AbortController();

  // Informers: every read of the reconciler and the webhooks is served from these caches.
  const crs = informerFor<LLMObservability & { metadata: { name: string } }>(
    kc,
    `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    {
      name: PLURAL,
      logger: log,
    },
  );
  const policies = informerFor<LLMObservabilityPolicy & { metadata: { name: string } }>(
    kc,
    `/apis/${GROUP}/${VERSION}/${POLICY_PLURAL}`,
    { name: POLICY_PLURAL, logger: log },
  );
  const namespaces = informerFor<V1Namespace>(kc, '/api/v1/namespaces', { name: 'namespaces', logger: log });
  const deployments = informerFor<V1Deployment>(kc, '/apis/apps/v1/deployments', {
    name: 'deployments',
    labelSelector: 'app.kubernetes.io/managed-by=llmobs-operator',
    logger: log,
  });
  // Every pod is watched (the webhook's annotation cannot be selected on), but only instrumented pods
  // and those the webhook missed are kept, and only what the controller reads of them (pod-cache.ts).
  const pods = informerFor<V1Pod>(kc, '/api/v1/pods', {
    name: 'pods',
    logger: log,
    transform: podView,
  });
  const informers: Informer<never>[] = [
    crs,
    policies,
    namespaces,
    deployments,
    pods,
  ] as unknown as Informer<never>[];
  for (const i of informers) i.start();

  const nsLabels = (ns: string) => labelsOf(namespaces.get(ns));
  const stores: Stores = {
    resource: (ns, name) => crs.get(name, ns),
    policies: () => policies.list(),
    namespaceLabels: nsLabels,
    instrumentedPods: (ns, name) =>
      pods
        .list(ns)
        .filter((p) => p.metadata?.annotations?.[ANNOTATION.appliedBy] === `${ns}/${name}`)
        .map((p) => rolloutPod(p, ANNOTATION.configHash)),
    uninstrumentedPods: (ns, name) => uninstrumentedFor(name, crs.list(ns), pods.list(ns)),
    readyReplicas: (ns, name) => deployments.get(name, ns)?.status?.readyReplicas,
  };
  const images = {
    processorImage: str('processor-image'),
    languageImages: {
      python: str('instrumentation-image-python'),
      nodejs: str('instrumentation-image-nodejs'),
    },
  };
  // Rendered once per namespace and kept until a resource, the namespace or a policy changes.
  const configSource = new InjectionSources({ resources: crs, policies, namespaces, images });

  // Health and metrics.
  let ready = false;
  const servers: Server[] = [];
  const health = hostPort(str('health-probe-bind-address'));
  if (health) {
    const s = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/healthz') res.writeHead(200).end('ok');
      else if (path === '/readyz') res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'not ready');
      else res.writeHead(404).end();
    });
    await listen(s, health, 'health probes');
    servers.push(s);
  }
  const metricsAddr = hostPort(str('metrics-bind-address'));
  if (metricsAddr) {
    const s = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
    await listen(s, metricsAddr, 'metrics');
    servers.push(s);
  }

  // Webhooks: served by every replica, leader or not.
  const version = await kc.makeApiClient(VersionApi).getCode();
  const webhookUrl = values['webhook-url'] ? str('webhook-url') : undefined;
  const certDir = values['webhook-cert-dir'] ? str('webhook-cert-dir') : undefined;
  const webhook = await startInjectionWebhook({
    kc,
    configSource,
    namespaces: new InformerNamespaceLookup(namespaces, new KubeNamespaceLookup(kc)),
    settings: defaultWebhookSettings({
      operatorNamespace: namespace,
      excludedNamespaces: str('excluded-namespaces').split(',').filter(Boolean),
      nativeSidecars: supportsNativeSidecars(version),
    }),
    registry,
    certificate: {
      secretNamespace: namespace,
      secretName: str('webhook-secret'),
      dnsNames: webhookUrl ? ['localhost'] : serviceDnsNames(str('webhook-service'), namespace),
      ...(webhookUrl ? { ipAddresses: [new URL(webhookUrl).hostname] } : {}),
    },
    // What the chart renders into the same configuration: the operator applies it with these values, so a
    // restart never undoes the chart's excluded namespaces, failure policy or timeout.
    webhook: {
      name: str('mutating-webhook-configuration'),
      ...(webhookUrl ? { url: webhookUrl } : { service: { namespace, name: str('webhook-service') } }),
      excludedNamespaces: str('excluded-namespaces').split(',').filter(Boolean),
      failurePolicy: webhookFailurePolicy,
      timeoutSeconds: webhookTimeout,
    },
    ...(certDir
      ? {
          certDir: {
            dir: certDir,
            dialedName: webhookUrl
              ? new URL(webhookUrl).hostname
              : `${str('webhook-service')}.${namespace}.svc`,
          },
        }
      : {}),
    port: Number(str('webhook-port')),
    ...(webhookUrl ? { host: new URL(webhookUrl).hostname } : {}),
    logger: log.child({ component: 'webhook' }),
    validators: [policyValidator({ policies: () => policies.list(), namespaceLabels: nsLabels })],
    ...(values['validating-webhook-configuration']
      ? { validatingConfigurations: [str('validating-webhook-configuration')] }
      : {}),
  });

  // The reconciler.
  const controller = new Controller({
    name: 'llmobservability',
    for: crs,
    reconciler: new LLMObservabilityReconciler(stores, new KubeClusterWriter(kc), {
      processorImage: images.processorImage,
      logger: log.child({ controller: 'llmobservability' }),
    }),
    watches: [
      mapSource(deployments, enqueueOwner({ apiVersion: API_VERSION, kind: KIND })),
      // A policy or namespace label change can move any resource's floor.
      mapSource(policies, () =>
        crs.list().map((c) => ({ namespace: c.metadata.namespace ?? '', name: c.metadata.name })),
      ),
      mapSource(namespaces, (n) =>
        crs
          .list(n.metadata?.name)
          .map((c) => ({ namespace: c.metadata.namespace ?? '', name: c.metadata.name })),
      ),
      // Pods come and go by the hundred: their resource's status (counts, rollout) is recomputed at
      // most once a second per resource, not once per pod event.
      mapSource(
        pods,
        (p): Request[] => {
          const by = p.metadata?.annotations?.[ANNOTATION.appliedBy];
          const [ns, name] = by?.split('/') ?? [];
          if (ns && name) return [{ namespace: ns, name }];
          // A pod the webhook missed: any resource of its namespace may select it.
          const podNs = p.metadata?.namespace ?? '';
          return crs.list(podNs).map((c) => ({ namespace: podNs, name: c.metadata.name }));
        },
        { delayMs: 1_000 },
      ),
    ],
    // The reconciler's own status writes do not wake it up again.
    predicate: generationChanged,
    maxConcurrentReconciles: maxConcurrentReconciles,
    resyncPeriodMs: 10 * 60_000,
    registry,
    logger: log.child({ controller: 'llmobservability' }),
  });

  const synced = await Promise.all(informers.map((i) => i.waitForSync(abort.signal)));
  ready = synced.every(Boolean);
  log.info(
    {
      namespace,
      webhook: webhook.server.url,
      webhookTls: certDir ? `directory ${certDir}` : `Secret ${str('webhook-secret')}`,
      leaderElect: values['leader-elect'] === true,
    },
    'operator started',
  );

  const runController = values['leader-elect']
    ? new LeaderElector({
        lock: leaseLock(kc, namespace, str('leader-election-id')),
        identity: `${process.env.POD_NAME ?? hostname()}_${process.pid}`,
        onStartedLeading: (signal) => {
          log.info('became leader');
          return controller.run(signal);
        },
        onStoppedLeading: () => {
          log.warn('lost leadership; exiting so a fresh replica can campaign');
          abort.abort();
        },
        logger: log.child({ component: 'leader' }),
      }).run(abort.signal)
    : controller.run(abort.signal);

  const signal = await Promise.race([
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    }),
    once(abort.signal, 'abort').then(() => 'lost-leadership'),
  ]);
  log.info({ signal }, 'shutting down');
  ready = false;
  abort.abort();
  await runController.catch((err: unknown) => log.error({ err }, 'controller stopped with an error'));
  await webhook.stop();
  for (const i of informers) await i.stop();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  log.flush();
  return signal === 'lost-leadership' ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`llmobs-operator: ${(err as Error).stack ?? String(err)}\n`);
  return 1;
});
