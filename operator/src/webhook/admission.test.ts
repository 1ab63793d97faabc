import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AdmissionReviewError,
  allowed,
  applyResponse,
  decodePatch,
  parseAdmissionReview,
  patched,
  review,
} from './admission.ts';

const original = {
  metadata: { name: 'p', annotations: { a: '1' } },
  spec: { containers: [{ name: 'app', env: [{ name: 'X', value: '1' }] }] },
};

describe('patched', () => {
  test('its JSON patch turns the original into the mutated object', () => {
    const mutated = structuredClone(original);
    mutated.metadata.annotations = {
      a: '1',
      'llmobs.dev/injection-status': 'injected',
    } as typeof mutated.metadata.annotations;
    mutated.spec.containers[0]?.env.unshift({ name: 'FIRST', value: 'f' });
    const res = patched({ uid: 'u' }, original, mutated);
    assert.equal(res.allowed, true);
    assert.equal(res.patchType, 'JSONPatch');
    assert.deepEqual(applyResponse(original, res), mutated);
  });

  test('escapes "/" in annotation keys so the patch applies to the right key', () => {
    const mutated = { ...original, metadata: { ...original.metadata, annotations: { a: '1', 'x/y': 'z' } } };
    const res = patched({ uid: 'u' }, original, mutated);
    assert.ok(decodePatch(res).some((op) => op.path === '/metadata/annotations/x~1y'));
    assert.deepEqual(applyResponse(original, res), mutated);
  });

  test('equal objects give no patch at all', () => {
    const res = patched({ uid: 'u' }, original, structuredClone(original));
    assert.deepEqual(res, { uid: 'u', allowed: true });
  });

  test('carries warnings', () => {
    assert.deepEqual(allowed({ uid: 'u' }, ['w']).warnings, ['w']);
  });
});

describe('parseAdmissionReview', () => {
  test('accepts a v1 review and rejects anything else', () => {
    const ok = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE' },
    };
    assert.equal(parseAdmissionReview(ok).request.uid, 'u');
    for (const bad of [
      null,
      [],
      { ...ok, apiVersion: 'admission.k8s.io/v1beta1' },
      { ...ok, request: undefined },
      { ...ok, request: { ...ok.request, uid: '' } },
    ]) {
      assert.throws(() => parseAdmissionReview(bad), AdmissionReviewError);
    }
  });

  test('review() wraps a response the way the apiserver expects', () => {
    assert.deepEqual(review({ uid: 'u', allowed: true }), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u', allowed: true },
    });
  });
});
