import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { kubeRequest } from './kube-request.ts';
import { countKubeRequests, KUBE_REQUESTS_TOTAL, requestKind } from './request-metrics.ts';

describe('requestKind', () => {
  const cases: [string, string, string, string][] = [
    ['GET', '/api/v1/namespaces/a/pods', 'list', 'pods'],
    ['GET', '/api/v1/pods?limit=500', 'list', 'pods'],
    ['GET', '/api/v1/pods?watch=true&resourceVersion=5', 'watch', 'pods'],
    ['GET', '/api/v1/namespaces/a/pods/p', 'get', 'pods'],
    ['GET', '/api/v1/namespaces/a', 'get', 'namespaces'],
    ['GET', '/api/v1/namespaces', 'list', 'namespaces'],
    ['POST', '/api/v1/namespaces/a/events', 'create', 'events'],
    [
      'PATCH',
      '/apis/llmobs.dev/v1alpha1/namespaces/a/llmobservabilities/x/status',
      'patch',
      'llmobservabilities.llmobs.dev/status',
    ],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/s/leases/l', 'update', 'leases.coordination.k8s.io'],
    ['DELETE', '/apis/apps/v1/namespaces/a/deployments/d', 'delete', 'deployments.apps'],
    ['DELETE', '/apis/apps/v1/namespaces/a/deployments', 'deletecollection', 'deployments.apps'],
    ['GET', '/version', 'get', 'nonresource'],
    ['GET', '/apis/llmobs.dev/v1alpha1', 'get', 'nonresource'],
  ];
  for (const [method, path, verb, resource] of cases) {
    it(`reads ${method} ${path} as ${verb} ${resource}`, () => {
      assert.deepEqual(requestKind(method, `https://127.0.0.1:6443${path}`), { verb, resource });
    });
  }
});

describe('countKubeRequests', () => {
  it('counts the typed API calls and raw requests of the instrumented KubeConfig, by verb and resource', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          {
            name: 'c',
            server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            skipTLSVerify: true,
          },
        ],
        users: [{ name: 'u' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const registry = new Registry();
      countKubeRequests(kc, registry);
      const core = kc.makeApiClient(CoreV1Api);
      await core.readNamespace({ name: 'a' });
      await core.readNamespace({ name: 'b' });
      await kubeRequest(kc, { path: '/api/v1/namespaces/a/pods' });
      const values = (await registry.getSingleMetric(KUBE_REQUESTS_TOTAL)?.get())?.values ?? [];
      const byKey = Object.fromEntries(values.map((v) => [`${v.labels.verb} ${v.labels.resource}`, v.value]));
      assert.deepEqual(byKey, { 'get namespaces': 2, 'list pods': 1 });
    } finally {
      server.close();
    }
  });
});
