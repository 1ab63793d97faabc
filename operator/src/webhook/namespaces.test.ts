import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Namespace } from '@kubernetes/client-node';
import { InformerNamespaceLookup } from './namespaces.ts';

describe('InformerNamespaceLookup', () => {
  const cached = new Map<string, V1Namespace>([
    [
      'a',
      { metadata: { name: 'a', labels: { tier: 'prod' }, annotations: { 'llmobs.dev/inject': 'true' } } },
    ],
    ['bare', { metadata: { name: 'bare' } }],
  ]);
  let synced = false;
  const fallbackCalls: string[] = [];
  const lookup = new InformerNamespaceLookup(
    { get: (n) => cached.get(n), hasSynced: () => synced },
    {
      get: (n) => {
        fallbackCalls.push(n);
        return { labels: { from: 'apiserver' } };
      },
    },
  );

  it('asks the fallback until the informer has synced', async () => {
    assert.deepEqual(await lookup.get('a'), { labels: { from: 'apiserver' } });
    assert.deepEqual(fallbackCalls, ['a']);
  });

  it('then answers from the cache alone, labels and annotations, undefined for an unknown namespace', async () => {
    synced = true;
    assert.deepEqual(await lookup.get('a'), {
      labels: { tier: 'prod' },
      annotations: { 'llmobs.dev/inject': 'true' },
    });
    assert.deepEqual(await lookup.get('bare'), {});
    assert.equal(await lookup.get('gone'), undefined);
    assert.deepEqual(fallbackCalls, ['a']);
  });
});
