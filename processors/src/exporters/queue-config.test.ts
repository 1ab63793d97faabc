import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldError } from '../component/factory.ts';
import { parseQueueRetry } from './queue-config.ts';

test('sending_queue.storage turns on the disk-backed queue, fsync on unless turned off', () => {
  const errors: FieldError[] = [];
  const on = parseQueueRetry({ sending_queue: { storage: { directory: '/var/lib/llmobs/queue' } } }, errors);
  assert.deepEqual(on.queue.storage, { directory: '/var/lib/llmobs/queue', fsync: true });
  const lazy = parseQueueRetry({ sending_queue: { storage: { directory: '/q', fsync: false } } }, errors);
  assert.deepEqual(lazy.queue.storage, { directory: '/q', fsync: false });
  assert.equal(parseQueueRetry({}, errors).queue.storage, undefined, 'in memory by default');
  assert.deepEqual(errors, []);
});
