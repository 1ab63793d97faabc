import assert from 'node:assert/strict';
import { connect as connectHttp2 } from 'node:http2';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { Registry } from 'prom-client';
import { type AdmissionRequest, type AdmissionReview, applyResponse } from './admission.ts';
import { ensureWebhookCertificate, MemorySecretStore, type WebhookCertificate } from './certs.ts';
import { type AdmissionEvent, type EventRecorder, MemoryEventRecorder } from './events.ts';
import { ADMISSION_DURATION, CONNECTIONS_TOTAL, INJECTIONS_TOTAL } from './metrics.ts';
import { type ConfigSource, InMemoryConfigSource } from './podmutation/config.ts';
import { deploymentPod, podRequest, settings, source } from './podmutation/testdata.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';

async function certificate(names: string[] = ['localhost']): Promise<WebhookCertificate> {
  const { certificate } = await ensureWebhookCertificate(new MemorySecretStore(), {
    secretNamespace: 'x',
    secretName: 'y',
    dnsNames: names,
    ipAddresses: ['127.0.0.1'],
  });
  return certificate;
}

function call(
  server: WebhookServer,
  ca: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method,
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function admit(server: WebhookServer, ca: string, req: AdmissionRequest): Promise<AdmissionReview> {
  const res = await call(
    server,
    ca,
    'POST',
    '/mutate-v1-pod',
    JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req }),
  );
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as AdmissionReview;
}

async function counter(registry: Registry, outcome: string, reason: string): Promise<number> {
  const m = await registry.getSingleMetric(INJECTIONS_TOTAL)?.get();
  return m?.values.find((v) => v.labels.outcome === outcome && v.labels.reason === reason)?.value ?? 0;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('webhook HTTPS server', () => {
  let server: WebhookServer;
  let cert: WebhookCertificate;
  const registry = new Registry();
  const events = new MemoryEventRecorder();
  const sources = new InMemoryConfigSource([source('obs')]);
  let broken = false;
  const configSource: ConfigSource = {
    forNamespace: (ns) => {
      if (broken) throw new Error('cache not synced');
      return sources.forNamespace(ns);
    },
  };

  before(async () => {
    cert = await certificate();
    server = await startWebhookServer({
      configSource,
      namespaces: { get: () => ({}) },
      settings,
      events,
      registry,
      tls: cert,
      host: '127.0.0.1',
    });
  });
  after(() => server.stop());

  test('answers an AdmissionReview with the uid, a JSON patch, a counter increment and an Event', async () => {
    const before = await counter(registry, 'injected', 'Injected');
    const req = podRequest(deploymentPod(), { uid: 'uid-1' });
    const res = await admit(server, cert.caPem, req);
    assert.equal(res.apiVersion, 'admission.k8s.io/v1');
    assert.equal(res.response?.uid, 'uid-1');
    assert.equal(res.response?.patchType, 'JSONPatch');
    const pod = applyResponse(deploymentPod(), res.response ?? { uid: '', allowed: false });
    assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'injected');
    assert.equal(await counter(registry, 'injected', 'Injected'), before + 1);
    await until(() => events.events.length > 0);
    const e = events.events.at(-1);
    assert.equal(e?.type, 'Normal');
    assert.equal(e?.reason, 'Injected');
    assert.deepEqual(e?.regarding, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'chat-api-7d9f8b6c5d',
      namespace: 'team-a',
      uid: '0b4c6a5e-0000-4000-8000-000000000001',
    });
  });

  test('a dry-run is mutated, but neither counted nor reported', async () => {
    const counted = await counter(registry, 'injected', 'Injected');
    const recorded = events.events.length;
    const res = await admit(server, cert.caPem, podRequest(deploymentPod(), { dryRun: true }));
    assert.equal(res.response?.patchType, 'JSONPatch');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await counter(registry, 'injected', 'Injected'), counted);
    assert.equal(events.events.length, recorded);
  });

  test('an internal error is allowed with status error, a warning, a Warning Event and the error counter', async () => {
    broken = true;
    try {
      const res = await admit(server, cert.caPem, podRequest(deploymentPod()));
      assert.equal(res.response?.allowed, true);
      assert.match(res.response?.warnings?.[0] ?? '', /cache not synced/);
      const pod = applyResponse(deploymentPod(), res.response ?? { uid: '', allowed: false });
      assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'error');
      assert.equal(await counter(registry, 'error', 'InternalError'), 1);
      await until(() => events.events.some((e) => e.reason === 'InternalError'));
      assert.equal(events.events.find((e) => e.reason === 'InternalError')?.type, 'Warning');
    } finally {
      broken = false;
    }
  });

  test('an ignored pod is counted but gets no Event', async () => {
    const recorded = events.events.length;
    await admit(
      server,
      cert.caPem,
      podRequest(deploymentPod({ annotations: { 'llmobs.dev/inject': 'false' } })),
    );
    assert.equal(await counter(registry, 'ignored', 'OptedOut'), 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.events.length, recorded);
  });

  test('times every answered admission, dry-runs included, by outcome', async () => {
    const observed = async (outcome: string) => {
      const m = await registry.getSingleMetric(ADMISSION_DURATION)?.get();
      return (
        m?.values.find(
          (v) =>
            (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.outcome === outcome,
        )?.value ?? 0
      );
    };
    const [injected, ignored] = [await observed('injected'), await observed('ignored')];
    await admit(server, cert.caPem, podRequest(deploymentPod()));
    await admit(server, cert.caPem, podRequest(deploymentPod(), { dryRun: true }));
    await admit(
      server,
      cert.caPem,
      podRequest(deploymentPod({ annotations: { 'llmobs.dev/inject': 'false' } })),
    );
    assert.equal(await observed('injected'), injected + 2);
    assert.equal(await observed('ignored'), ignored + 1);
  });

  test('a body that is not an AdmissionReview gets 400', async () => {
    const res = await call(server, cert.caPem, 'POST', '/mutate-v1-pod', JSON.stringify({ kind: 'Pod' }));
    assert.equal(res.status, 400);
    const bad = await call(server, cert.caPem, 'POST', '/mutate-v1-pod', '{not json');
    assert.equal(bad.status, 400);
  });

  test('/healthz answers ok', async () => {
    const res = await call(server, cert.caPem, 'GET', '/healthz');
    assert.deepEqual(res, { status: 200, body: 'ok' });
  });

  test('answers many concurrent AdmissionReviews over one HTTP/2 connection, each with its own uid and patch', async () => {
    const connections = async (protocol: string) =>
      (await registry.getSingleMetric(CONNECTIONS_TOTAL)?.get())?.values.find(
        (v) => v.labels.protocol === protocol,
      )?.value ?? 0;
    const opened = await connections('h2');
    const session = connectHttp2(server.url, { ca: cert.caPem });
    try {
      const post = (uid: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/mutate-v1-pod',
            'content-type': 'application/json',
          });
          let status = 0;
          const chunks: Buffer[] = [];
          stream.on('response', (h) => {
            status = Number(h[':status']);
          });
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
          stream.on('error', reject);
          stream.end(
            JSON.stringify({
              apiVersion: 'admission.k8s.io/v1',
              kind: 'AdmissionReview',
              request: podRequest(deploymentPod(), { uid }),
            }),
          );
        });
      const uids = Array.from({ length: 64 }, (_, i) => `h2-${i}`);
      const answers = await Promise.all(uids.map(post));
      for (const [i, a] of answers.entries()) {
        assert.equal(a.status, 200, a.body);
        const res = (JSON.parse(a.body) as AdmissionReview).response;
        assert.equal(res?.uid, uids[i]);
        const pod = applyResponse(deploymentPod(), res ?? { uid: '', allowed: false });
        assert.equal(pod.metadata?.annotations?.['llmobs.dev/injection-status'], 'injected');
      }
      assert.equal(session.alpnProtocol, 'h2');
      assert.equal(await connections('h2'), opened + 1);
    } finally {
      session.close();
    }
  });

  test('an unknown path gets 404 and a GET of the admission path 405, both as JSON', async () => {
    const missing = await call(server, cert.caPem, 'POST', '/mutate-v1-deployment', '{}');
    assert.equal(missing.status, 404);
    assert.match((JSON.parse(missing.body) as { message: string }).message, /mutate-v1-deployment/);
    const get = await call(server, cert.caPem, 'GET', '/mutate-v1-pod');
    assert.equal(get.status, 405);
  });

  test('a body over the size limit gets 413 without being read to the end', async () => {
    const res = await call(server, cert.caPem, 'POST', '/mutate-v1-pod', 'x'.repeat(5 * 1024 * 1024));
    assert.equal(res.status, 413);
  });

  test('serves a new certificate after setCertificate, without a restart', async () => {
    const peer = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
          s.end();
        });
        s.on('error', reject);
      });
    const old = await peer();
    const next = await certificate(['rotated.example']);
    server.setCertificate(next);
    const now = await peer();
    assert.notEqual(now, old);
    const res = await call(server, next.caPem, 'GET', '/healthz');
    assert.equal(res.status, 200);
  });
});

describe('webhook server with a failing event recorder', () => {
  test('still answers: a lost Event never fails an admission', async () => {
    const cert = await certificate();
    const failing: EventRecorder = {
      // Throws synchronously, the worst a recorder can do.
      record: (_e: AdmissionEvent) => {
        throw new Error('events forbidden');
      },
    };
    const server = await startWebhookServer({
      configSource: new InMemoryConfigSource([source('obs')]),
      namespaces: { get: () => ({}) },
      settings,
      events: failing,
      registry: new Registry(),
      tls: cert,
      host: '127.0.0.1',
    });
    try {
      const res = await admit(server, cert.caPem, podRequest(deploymentPod()));
      assert.equal(res.response?.allowed, true);
      assert.equal(res.response?.patchType, 'JSONPatch');
    } finally {
      await server.stop();
    }
  });
});
