import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SelectableResource } from './config.ts';
import { REASON } from './constants.ts';
import { type SelectionInput, selectPod } from './selection.ts';
import { resource, settings } from './testdata.ts';

function input(overrides: Partial<SelectionInput<SelectableResource>>): SelectionInput<SelectableResource> {
  return {
    namespace: 'team-a',
    podLabels: { app: 'chat' },
    podAnnotations: {},
    namespaceAnnotations: {},
    resources: [resource('obs')],
    settings,
    ...overrides,
  };
}

const llm = resource('llm-only', { selector: { matchLabels: { llm: 'true' } } });
const older = resource('older', { created: '2025-06-01T00:00:00Z' });
const newer = resource('newer', { created: '2026-06-01T00:00:00Z' });

describe('selectPod precedence', () => {
  const cases: readonly {
    id: string;
    in: Partial<SelectionInput<SelectableResource>>;
    want:
      | { selected: true; name: string; by: string }
      | { selected: false; reason: string; explicit: boolean };
  }[] = [
    { id: 'empty-selector-selects-every-pod', in: {}, want: { selected: true, name: 'obs', by: 'selector' } },
    {
      id: 'selector-mismatch-leaves-pod-alone',
      in: { resources: [llm] },
      want: { selected: false, reason: REASON.notSelected, explicit: false },
    },
    {
      id: 'match-expressions-are-honoured',
      in: {
        podLabels: { tier: 'llm' },
        resources: [
          resource('expr', {
            selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['llm'] }] },
          }),
        ],
      },
      want: { selected: true, name: 'expr', by: 'selector' },
    },
    {
      id: 'no-resource-no-annotation-is-not-ours',
      in: { resources: [] },
      want: { selected: false, reason: REASON.noLLMObservability, explicit: false },
    },
    {
      id: 'pod-false-overrides-matching-selector',
      in: { podAnnotations: { 'llmobs.dev/inject': 'false' } },
      want: { selected: false, reason: REASON.optedOut, explicit: false },
    },
    {
      id: 'pod-true-overrides-namespace-false',
      in: {
        podAnnotations: { 'llmobs.dev/inject': 'true' },
        namespaceAnnotations: { 'llmobs.dev/inject': 'false' },
      },
      want: { selected: true, name: 'obs', by: 'pod-annotation' },
    },
    {
      id: 'pod-true-overrides-non-matching-selector',
      in: { podAnnotations: { 'llmobs.dev/inject': 'TRUE' }, resources: [llm] },
      want: { selected: true, name: 'llm-only', by: 'pod-annotation' },
    },
    {
      id: 'pod-false-overrides-namespace-true',
      in: {
        podAnnotations: { 'llmobs.dev/inject': 'false' },
        namespaceAnnotations: { 'llmobs.dev/inject': 'true' },
      },
      want: { selected: false, reason: REASON.optedOut, explicit: false },
    },
    {
      id: 'namespace-false-overrides-selector',
      in: { namespaceAnnotations: { 'llmobs.dev/inject': 'false' } },
      want: { selected: false, reason: REASON.optedOut, explicit: false },
    },
    {
      id: 'namespace-true-overrides-non-matching-selector',
      in: { namespaceAnnotations: { 'llmobs.dev/inject': 'true' }, resources: [llm] },
      want: { selected: true, name: 'llm-only', by: 'namespace-annotation' },
    },
    {
      id: 'pod-true-without-resource-is-skipped-visibly',
      in: { podAnnotations: { 'llmobs.dev/inject': 'true' }, resources: [] },
      want: { selected: false, reason: REASON.noLLMObservability, explicit: true },
    },
    {
      id: 'pod-names-a-resource',
      in: { podAnnotations: { 'llmobs.dev/inject': 'newer' }, resources: [older, newer] },
      want: { selected: true, name: 'newer', by: 'pod-annotation' },
    },
    {
      id: 'pod-names-a-missing-resource',
      in: { podAnnotations: { 'llmobs.dev/inject': 'nope' } },
      want: { selected: false, reason: REASON.llmObservabilityNotFound, explicit: true },
    },
    {
      id: 'pod-name-beats-namespace-name',
      in: {
        podAnnotations: { 'llmobs.dev/inject': 'older' },
        namespaceAnnotations: { 'llmobs.dev/inject': 'newer' },
        resources: [older, newer],
      },
      want: { selected: true, name: 'older', by: 'pod-annotation' },
    },
    {
      id: 'empty-pod-annotation-falls-through',
      in: {
        podAnnotations: { 'llmobs.dev/inject': '' },
        namespaceAnnotations: { 'llmobs.dev/inject': 'false' },
      },
      want: { selected: false, reason: REASON.optedOut, explicit: false },
    },
    {
      id: 'kube-system-even-when-asked',
      in: { namespace: 'kube-system', podAnnotations: { 'llmobs.dev/inject': 'true' } },
      want: { selected: false, reason: REASON.excludedNamespace, explicit: false },
    },
    {
      id: 'operator-namespace-even-when-asked',
      in: { namespace: 'llmobs-system', podAnnotations: { 'llmobs.dev/inject': 'true' } },
      want: { selected: false, reason: REASON.excludedNamespace, explicit: false },
    },
    {
      id: 'operator-and-gateway-pods-even-when-asked',
      in: {
        podLabels: { 'app.kubernetes.io/part-of': 'llmobs' },
        podAnnotations: { 'llmobs.dev/inject': 'true' },
      },
      want: { selected: false, reason: REASON.operatorPod, explicit: false },
    },
  ];

  for (const c of cases) {
    test(c.id, () => {
      const got = selectPod(input(c.in));
      if (c.want.selected) {
        assert.ok(got.selected, `expected selected, got ${JSON.stringify(got)}`);
        assert.equal(got.resource.metadata.name, c.want.name);
        assert.equal(got.by, c.want.by);
      } else {
        assert.ok(!got.selected, `expected not selected, got ${JSON.stringify(got)}`);
        assert.equal(got.reason, c.want.reason);
        assert.equal(got.explicit, c.want.explicit);
      }
    });
  }
});

describe('selectPod with several LLMObservability in the namespace', () => {
  test('picks the oldest whatever the order they come in, and records the others', () => {
    for (const resources of [
      [newer, older],
      [older, newer],
    ]) {
      const got = selectPod(input({ resources }));
      assert.ok(got.selected);
      assert.equal(got.resource.metadata.name, 'older');
      assert.deepEqual(got.alsoSelectedBy, ['newer']);
      assert.match(got.message, /also selected by newer, using older/);
    }
  });

  test('breaks a creation-time tie by name', () => {
    const got = selectPod(input({ resources: [resource('zeta'), resource('alpha')] }));
    assert.ok(got.selected);
    assert.equal(got.resource.metadata.name, 'alpha');
  });

  test('prefers a matching selector over an older non-matching one when the pod opts in', () => {
    const oldLlm = resource('old-llm-only', {
      created: '2020-01-01T00:00:00Z',
      selector: { matchLabels: { llm: 'true' } },
    });
    const got = selectPod(
      input({ podAnnotations: { 'llmobs.dev/inject': 'true' }, resources: [oldLlm, newer] }),
    );
    assert.ok(got.selected);
    assert.equal(got.resource.metadata.name, 'newer');
  });

  test('takes Date creation timestamps (typed client objects) as well as strings', () => {
    const a = { metadata: { name: 'b-dated', creationTimestamp: new Date('2024-01-01T00:00:00Z') } };
    const got = selectPod(input({ resources: [newer, a] }));
    assert.ok(got.selected);
    assert.equal(got.resource.metadata.name, 'b-dated');
  });
});
