import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { DiskQueue } from './disk-queue.ts';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'llmobs-diskq-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const body = (tag: number, bytes = 100) => new Uint8Array(bytes).fill(tag);
const open = (directory: string, capacity = 1 << 20, fsync = true) =>
  DiskQueue.open({ directory, fsync }, capacity);
const segments = (d: string) => readdirSync(d).filter((f) => f.endsWith('.seg'));

test('a reopened directory gives back every request never acknowledged, in the order accepted', () => {
  const dir = fresh();
  const { queue, recovery } = open(dir);
  assert.equal(recovery.items.length, 0);
  const seqs = [1, 2, 3, 4].map((tag) => queue.append(body(tag), tag));
  queue.ack(seqs[1] ?? -1);
  queue.close();
  const again = open(dir);
  assert.deepEqual(
    again.recovery.items.map((r) => [r.items, r.body[0]]),
    [
      [1, 1],
      [3, 3],
      [4, 4],
    ],
  );
  assert.equal(again.recovery.corruptRecords, 0);
  // Taken over: acknowledged in the new queue, they do not come back a third time.
  for (const r of again.recovery.items) again.queue.ack(r.seq);
  again.queue.close();
  assert.equal(open(dir).recovery.items.length, 0);
});

test('a record with a bad checksum is counted with its items and skipped; the others survive', () => {
  const dir = fresh();
  const { queue } = open(dir);
  for (const tag of [1, 2, 3]) queue.append(body(tag), 10 * tag);
  queue.close();
  const [file] = segments(dir);
  assert.ok(file);
  const bytes = readFileSync(join(dir, file));
  const record = bytes.length / 3;
  bytes[record + 60] = (bytes[record + 60] ?? 0) ^ 0xff; // in the second record's body
  writeFileSync(join(dir, file), bytes);
  const { recovery } = open(dir);
  assert.deepEqual(
    recovery.items.map((r) => r.items),
    [10, 30],
  );
  assert.equal(recovery.corruptRecords, 1);
  assert.equal(recovery.corruptItems, 20);
});

test('garbage where a header should be ends the file as one corrupt record, without throwing', () => {
  const dir = fresh();
  const { queue } = open(dir);
  queue.append(body(1), 1);
  queue.close();
  const [file] = segments(dir);
  assert.ok(file);
  writeFileSync(join(dir, file), Buffer.concat([readFileSync(join(dir, file)), Buffer.alloc(64, 0x5a)]));
  const { recovery } = open(dir);
  assert.deepEqual(
    recovery.items.map((r) => r.items),
    [1],
  );
  assert.equal(recovery.corruptRecords, 1);
});

test('a record cut short at the end (a write never finished, never acknowledged) is not corruption', () => {
  const dir = fresh();
  const { queue } = open(dir);
  queue.append(body(1), 1);
  queue.append(body(2), 2);
  queue.close();
  const [file] = segments(dir);
  assert.ok(file);
  const path = join(dir, file);
  truncateSync(path, statSync(path).size - 7);
  const { recovery } = open(dir);
  assert.deepEqual(
    recovery.items.map((r) => r.items),
    [1],
  );
  assert.equal(recovery.corruptRecords, 0);
});

test('acknowledged segments are deleted, so the files stay near what is live', () => {
  const dir = fresh();
  // 64 KiB segments.
  const { queue } = open(dir, 512 * 1024, false);
  for (let i = 0; i < 200; i++) queue.ack(queue.append(body(i % 250, 10_000), 1));
  assert.ok(segments(dir).length <= 2, segments(dir).join());
  assert.ok(queue.diskBytes < 2 * 64 * 1024, `${queue.diskBytes}`);
  queue.close();
  assert.equal(segments(dir).length, 0, 'nothing live, nothing left');
});

test('one request pinned while many pass does not grow the disk past twice the capacity', () => {
  const dir = fresh();
  const capacity = 512 * 1024;
  const { queue } = open(dir, capacity, false);
  queue.append(body(7, 10_000), 3);
  for (let i = 0; i < 500; i++) queue.ack(queue.append(body(1, 10_000), 1));
  assert.ok(queue.diskBytes <= 2 * capacity + 64 * 1024, `${queue.diskBytes} bytes on disk`);
  queue.close();
  const { recovery } = open(dir);
  assert.deepEqual(
    recovery.items.map((r) => [r.items, r.body[0], r.body.length]),
    [[3, 7, 10_000]],
    'the pinned request survives being moved',
  );
});

test('a write that fails (disk full) refuses that request only: the segment is sealed, later requests go to a new file, nothing accepted is lost', {
  skip: !existsSync('/dev/full') && 'needs /dev/full',
}, () => {
  const dir = fresh();
  const { queue } = open(dir, 1 << 20);
  // Segments roll at 128 KiB here (capacity / 8): each 140 KB body fills one.
  const big = (tag: number) => body(tag, 140_000);
  const first = queue.append(big(1), 1);
  const [seg0] = segments(dir);
  assert.ok(seg0);
  // The next segment the queue opens is /dev/full, where every write fails with ENOSPC.
  const next = join(dir, seg0.replace(/-0{8}\.seg$/, '-00000001.seg'));
  symlinkSync('/dev/full', next);
  assert.throws(() => queue.append(big(2), 2), /ENOSPC|EINVAL/);
  const third = queue.append(big(3), 3);
  assert.ok(third > first);
  queue.close();
  rmSync(next, { force: true });
  const again = open(dir);
  assert.deepEqual(
    again.recovery.items.map((r) => [r.items, r.body[0], r.body.length]),
    [
      [1, 1, 140_000],
      [3, 3, 140_000],
    ],
  );
  assert.equal(again.recovery.corruptRecords, 0);
  again.queue.close();
});
