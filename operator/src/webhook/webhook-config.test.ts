import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildMutatingWebhookConfiguration } from './webhook-config.ts';

describe('buildMutatingWebhookConfiguration', () => {
  const cfg = buildMutatingWebhookConfiguration({
    service: { namespace: 'llmobs-system', name: 'llmobs-webhook' },
    operatorNamespace: 'llmobs-system',
    caBundlePem: 'PEM',
  });
  const w = cfg.webhooks?.[0];

  test('fails open, quickly, on pod CREATE only, with AdmissionReview v1 and no side effects on dry-run', () => {
    assert.equal(w?.failurePolicy, 'Ignore');
    assert.equal(w?.timeoutSeconds, 5);
    assert.equal(w?.sideEffects, 'NoneOnDryRun');
    assert.deepEqual(w?.admissionReviewVersions, ['v1']);
    assert.deepEqual(w?.rules, [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ]);
  });

  test('never sends kube-system, the operator namespace or the operator own pods', () => {
    assert.deepEqual(w?.namespaceSelector?.matchExpressions, [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'llmobs-system'] },
    ]);
    assert.deepEqual(w?.objectSelector?.matchExpressions?.[0], {
      key: 'app.kubernetes.io/part-of',
      operator: 'NotIn',
      values: ['llmobs'],
    });
  });

  test('pre-filters opted-out and already instrumented pods with CEL', () => {
    assert.deepEqual(
      w?.matchConditions?.map((c) => c.name),
      ['not-opted-out', 'not-already-instrumented'],
    );
  });

  test('points at the service path and carries the CA base64-encoded', () => {
    assert.deepEqual(w?.clientConfig.service, {
      namespace: 'llmobs-system',
      name: 'llmobs-webhook',
      path: '/mutate-v1-pod',
      port: 443,
    });
    assert.equal(w?.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
  });

  test('takes a URL instead, never both', () => {
    const byUrl = buildMutatingWebhookConfiguration({
      url: 'https://127.0.0.1:9443/',
      operatorNamespace: 'x',
    });
    assert.equal(byUrl.webhooks?.[0]?.clientConfig.url, 'https://127.0.0.1:9443/mutate-v1-pod');
    assert.throws(() =>
      buildMutatingWebhookConfiguration({
        url: 'https://a',
        service: { namespace: 'a', name: 'b' },
        operatorNamespace: 'x',
      }),
    );
  });
});

describe('the pod webhook configuration the operator applies over the chart’s', () => {
  test('keeps the chart’s failure policy, timeout and excluded namespaces when given them', () => {
    const c = buildMutatingWebhookConfiguration({
      name: 'llmobs',
      service: { namespace: 'llmobs-system', name: 'llmobs-webhook' },
      operatorNamespace: 'llmobs-system',
      excludedNamespaces: ['kube-public', 'kube-node-lease'],
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
    });
    const w = c.webhooks?.[0];
    assert.equal(w?.failurePolicy, 'Fail');
    assert.equal(w?.timeoutSeconds, 10);
    assert.deepEqual(w?.namespaceSelector?.matchExpressions?.[0]?.values, [
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'llmobs-system',
    ]);
  });
});
