import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../../../test/harness/control-plane.ts';
import { freePorts } from '../../../test/harness/ports.ts';
import {
  apiErrorReason,
  isAlreadyExists,
  isApiError,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
} from './errors.ts';
import { etcdDirect } from './etcd-direct.it-helper.ts';
import { kubeRequest } from './kube-request.ts';

/** Runs `fn`, which must reject, and returns what it rejected with. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

/** The shape client-node 2.0.1 gives typed-API failures: ApiException, numeric code, body as a string. */
function assertApiException(err: unknown, code: number, reason: string): void {
  assert.ok(err instanceof ApiException, `expected ApiException, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.equal(typeof err.body, 'string', 'the body is the raw response text, not a parsed Status');
  assert.equal(JSON.parse(err.body as string).kind, 'Status');
  assert.equal((err as unknown as Record<string, unknown>).statusCode, undefined, 'no 0.x-style statusCode');
  assert.equal(isApiError(err, code), true);
  assert.equal(apiErrorReason(err), reason);
}

describe('client-node 2.0.1 error shapes on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  const namespace = 'default';

  before(async () => {
    cp = await startControlPlane();
    core = cp.kubeConfig().makeApiClient(CoreV1Api);
  });
  after(async () => {
    await cp?.stop();
  });

  it('should throw ApiException 404 NotFound for a missing object', async () => {
    const err = await failure(() => core.readNamespacedConfigMap({ name: 'missing', namespace }));
    assertApiException(err, 404, 'NotFound');
    assert.equal(isNotFound(err), true);
  });

  it('should throw ApiException 409 AlreadyExists on a duplicate create and 409 Conflict on a stale update', async () => {
    const body: V1ConfigMap = { metadata: { name: 'dup' }, data: { k: 'v' } };
    const created = await core.createNamespacedConfigMap({ namespace, body });
    const exists = await failure(() => core.createNamespacedConfigMap({ namespace, body }));
    assertApiException(exists, 409, 'AlreadyExists');
    assert.equal(isAlreadyExists(exists), true);

    await core.replaceNamespacedConfigMap({
      name: 'dup',
      namespace,
      body: { ...created, data: { k: 'v2' } },
    });
    const stale = await failure(() =>
      core.replaceNamespacedConfigMap({ name: 'dup', namespace, body: { ...created, data: { k: 'v3' } } }),
    );
    assertApiException(stale, 409, 'Conflict');
    assert.equal(isConflict(stale) && !isAlreadyExists(stale), true);
  });

  it('should throw ApiException 422 Invalid for an object that fails validation', async () => {
    const err = await failure(() =>
      core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'Not_A_DNS_Name' } } }),
    );
    assertApiException(err, 422, 'Invalid');
    assert.equal(isInvalid(err), true);
  });

  it('should answer 410 Expired for a compacted resourceVersion: ApiException on a list, a Status event on a watch', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'old' } } });
    const etcd = etcdDirect(cp);
    await etcd.compact(await etcd.revision());
    // Until it restarts, the apiserver serves old resourceVersions from its watch cache and does not
    // notice a compaction it did not make; its new cache starts at the current revision.
    await cp.restartApiServer();
    const err = await failure(() =>
      core.listNamespacedConfigMap({ namespace, resourceVersion: '2', resourceVersionMatch: 'Exact' }),
    );
    assertApiException(err, 410, 'Expired');
    assert.equal(isGone(err), true);

    const events: Array<{ type: string; object: unknown }> = [];
    const done = await new Promise<unknown>((resolve) => {
      new Watch(cp.kubeConfig())
        .watch(
          `/api/v1/namespaces/${namespace}/configmaps`,
          { resourceVersion: '2' },
          (type, object) => {
            events.push({ type, object });
          },
          resolve,
        )
        .catch(resolve);
    });
    assert.equal(done, null, 'the stream ends cleanly after the ERROR event');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'ERROR');
    const status = events[0]?.object as Record<string, unknown>;
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 410);
    assert.equal(status.reason, 'Expired');
    assert.equal(isGone(status), true);
  });

  it('should make kubeRequest fail with the same ApiException shape', async () => {
    const err = await failure(() =>
      kubeRequest(cp.kubeConfig(), { path: `/api/v1/namespaces/${namespace}/configmaps/missing` }),
    );
    assertApiException(err, 404, 'NotFound');
  });

  it("should give Watch's done callback a plain Error with statusCode for a non-200 watch", async () => {
    const err = await new Promise<unknown>((resolve) => {
      new Watch(cp.kubeConfig())
        .watch('/api/v1/namespaces/default/nosuchresource', {}, () => {}, resolve)
        .catch(resolve);
    });
    assert.ok(err instanceof Error);
    assert.equal(err instanceof ApiException, false);
    assert.equal((err as Error & { statusCode?: number }).statusCode, 404);
    assert.equal(isNotFound(err), true);
  });

  it('should report a transport failure, not an API error, when nothing listens', async () => {
    const kc = cp.kubeConfig();
    const cluster = kc.getCurrentCluster();
    assert.ok(cluster);
    const [closedPort] = await freePorts(1); // free: nothing listens there
    kc.clusters = [{ ...cluster, server: `https://127.0.0.1:${closedPort}` }];
    const err = await failure(() => kc.makeApiClient(CoreV1Api).listNamespace());
    assert.equal(isApiError(err), false);
    assert.equal(((err as Error).cause as { code?: string }).code, 'ECONNREFUSED');
  });
});
