import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LLMObservabilityPolicy } from '../manifests/resources.ts';
import type { AdmissionRequest } from '../webhook/admission.ts';
import { policyValidator } from './policy-validator.ts';

const policy: LLMObservabilityPolicy = {
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservabilityPolicy',
  metadata: { name: 'customer-data' },
  spec: {
    namespaceSelector: { matchLabels: { 'data-class': 'customer' } },
    contentCapture: { maxLevel: 'redacted' },
    redaction: { requiredEntities: ['email', 'credit_card'] },
  },
};
const view = (labels: Record<string, string> | undefined) => ({
  policies: () => [policy],
  namespaceLabels: () => labels,
});
const request = (spec: Record<string, unknown>): AdmissionRequest => ({
  uid: 'u1',
  kind: { group: 'llmobs.dev', version: 'v1alpha1', kind: 'LLMObservability' },
  resource: { group: 'llmobs.dev', version: 'v1alpha1', resource: 'llmobservabilities' },
  namespace: 'llm-app',
  name: 'chat',
  operation: 'CREATE',
  object: {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name: 'chat', namespace: 'llm-app' },
    spec,
  },
});

test('refuses a resource asking for more capture than the policy allows, naming field and policy', () => {
  const res = policyValidator(view({ 'data-class': 'customer' })).validate(
    request({ contentCapture: 'full', redaction: { entities: ['email', 'credit_card'] } }),
  );
  assert.equal((res as { allowed: boolean }).allowed, false);
  assert.match(
    (res as { status?: { message?: string } }).status?.message ?? '',
    /spec\.contentCapture: contentCapture full exceeds the maximum redacted set by policy customer-data/,
  );
});

test('refuses a resource that redacts fewer entities than required', () => {
  const res = policyValidator(view({ 'data-class': 'customer' })).validate(
    request({ redaction: { entities: ['email'] } }),
  );
  assert.equal((res as { allowed: boolean }).allowed, false);
  assert.match(
    (res as { status?: { message?: string } }).status?.message ?? '',
    /spec\.redaction\.entities: .*credit_card/,
  );
});

test('admits a compliant resource, and anything in a namespace the policy does not select', () => {
  assert.equal(
    (
      policyValidator(view({ 'data-class': 'customer' })).validate(
        request({ contentCapture: 'redacted' }),
      ) as { allowed: boolean }
    ).allowed,
    true,
  );
  assert.equal(
    (policyValidator(view({})).validate(request({ contentCapture: 'full' })) as { allowed: boolean }).allowed,
    true,
  );
});
