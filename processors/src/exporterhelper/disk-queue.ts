import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** `sending_queue.storage`: where the queue keeps its durable copy, and whether appends are fsynced. */
export interface StorageSettings {
  readonly directory: string;
  /**
   * true: every accepted request is fdatasync'ed before the sender is answered (survives power loss).
   * false: written to the page cache only (survives a killed process, not a kernel crash).
   */
  readonly fsync: boolean;
}

/** A request read back from disk that was accepted but never acknowledged by the backend. */
export interface RecoveredItem {
  readonly body: Uint8Array;
  readonly items: number;
  readonly seq: number;
}

export interface Recovery {
  readonly items: readonly RecoveredItem[];
  /** Records whose checksum or framing was wrong; their items when the header still said how many. */
  readonly corruptRecords: number;
  readonly corruptItems: number;
  /** Files that held the records (removed once their live records are re-appended here). */
  readonly files: number;
}

const MAGIC = 0x314c4c51; // "QLL1" little-endian
const DATA = 1;
const ACK = 2;
/** magic u32, type u8, seq f64, items u32, body length u32, crc32 u32 (of type..length and the body). */
const HEADER = 25;
const SUFFIX = '.seg';

/** Instance prefixes of the disk queues alive in this process: their files are not orphans. */
const OWNED = new Set<string>();
let instances = 0;

interface Segment {
  readonly name: string;
  readonly fd: number;
  bytes: number;
  live: number;
  /** No more appends: a write (or the sync of the new file) failed; a torn end is ignored on replay. */
  sealed: boolean;
}

function encodeRecord(type: number, seq: number, items: number, body: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + body.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt8(type, 4);
  buf.writeDoubleLE(seq, 5);
  buf.writeUInt32LE(items, 13);
  buf.writeUInt32LE(body.length, 17);
  buf.set(body, HEADER);
  buf.writeUInt32LE(crc32(body, crc32(buf.subarray(4, 21))), 21);
  return buf;
}

interface Parsed {
  readonly data: Map<number, { body: Uint8Array; items: number }>;
  corruptRecords: number;
  corruptItems: number;
}

/**
 * Reads one file's records into `into` (data adds, ack removes). A record with a bad checksum is
 * counted and skipped when its framing still leads to the next record (or the end); otherwise the rest
 * of the file is counted as one corrupt record. A record cut short at the end (a write the process
 * never finished, so never acknowledged to a sender) is ignored.
 */
function parseFile(buf: Buffer, into: Parsed): void {
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < HEADER) return;
    const len = buf.readUInt32LE(pos + 17);
    const end = pos + HEADER + len;
    const magicOk = buf.readUInt32LE(pos) === MAGIC;
    if (magicOk && end > buf.length) return;
    const type = buf.readUInt8(pos + 4);
    const body = magicOk ? buf.subarray(pos + HEADER, end) : undefined;
    const sound =
      body !== undefined &&
      buf.readUInt32LE(pos + 21) === crc32(body, crc32(buf.subarray(pos + 4, pos + 21))) &&
      (type === DATA || type === ACK);
    if (sound) {
      const seq = buf.readDoubleLE(pos + 5);
      if (type === DATA)
        into.data.set(seq, { body: Uint8Array.from(body), items: buf.readUInt32LE(pos + 13) });
      else into.data.delete(seq);
      pos = end;
      continue;
    }
    into.corruptRecords++;
    const resyncs =
      magicOk && (end === buf.length || (end + 4 <= buf.length && buf.readUInt32LE(end) === MAGIC));
    if (!resyncs) return;
    if (type === DATA) into.corruptItems += buf.readUInt32LE(pos + 13);
    pos = end;
  }
}

/**
 * The durable half of a sending queue: an append-only log of segment files in one directory. A request
 * is appended (and fsynced, by default) before the sender is answered, and an ack record is appended
 * once it was sent or dropped; fully acknowledged segments are deleted oldest first. Files of queues not
 * alive in this process (a killed process, an exporter replaced by a reload) are orphans: the next queue
 * opened on the directory takes over their unacknowledged records.
 *
 * Acks are not fsynced: after a crash a request the backend already accepted may be sent again
 * (at-least-once, never less).
 */
export class DiskQueue {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #segmentBytes: number;
  readonly #maxDiskBytes: number;
  readonly #prefix: string;
  readonly #segments: Segment[] = [];
  readonly #live = new Map<number, { segment: Segment; body: Uint8Array; items: number }>();
  #nextSegment = 0;
  #nextSeq = 0;
  #closed = false;

  private constructor(dir: string, s: StorageSettings, capacityBytes: number) {
    this.#dir = dir;
    this.#fsync = s.fsync;
    this.#segmentBytes = Math.min(Math.max(Math.floor(capacityBytes / 8), 64 * 1024), 16 * 1024 * 1024);
    // Live records never exceed the capacity; rewriting the oldest segment's survivors keeps dead
    // records (acknowledged ones in segments pinned by a slow one) from growing the disk without bound.
    this.#maxDiskBytes = 2 * capacityBytes + this.#segmentBytes;
    this.#prefix = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${++instances}`;
  }

  /**
   * Opens (creating) `directory`, takes over orphaned records and re-appends them to this queue's own
   * segment, so they are acknowledged like any other; returns them in the order they were accepted.
   */
  static open(s: StorageSettings, capacityBytes: number): { queue: DiskQueue; recovery: Recovery } {
    mkdirSync(s.directory, { recursive: true });
    const q = new DiskQueue(s.directory, s, capacityBytes);
    OWNED.add(q.#prefix);
    const orphans = readdirSync(s.directory)
      .filter((f) => f.endsWith(SUFFIX) && ![...OWNED].some((p) => f.startsWith(`${p}-`)))
      .sort();
    const byOwner = new Map<string, string[]>();
    for (const f of orphans) {
      const owner = f.slice(0, f.lastIndexOf('-'));
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), f]);
    }
    const items: RecoveredItem[] = [];
    let corruptRecords = 0;
    let corruptItems = 0;
    for (const files of byOwner.values()) {
      const parsed: Parsed = { data: new Map(), corruptRecords: 0, corruptItems: 0 };
      for (const f of files) parseFile(readFileSync(join(s.directory, f)), parsed);
      corruptRecords += parsed.corruptRecords;
      corruptItems += parsed.corruptItems;
      for (const seq of [...parsed.data.keys()].sort((a, b) => a - b)) {
        const r = parsed.data.get(seq);
        // One fsync for the whole replay (below), not one per record.
        if (r) items.push({ ...r, seq: q.#append(r.body, r.items, false) });
      }
    }
    if (items.length > 0) q.#sync(true);
    for (const f of orphans) unlinkSync(join(s.directory, f));
    return { queue: q, recovery: { items, corruptRecords, corruptItems, files: orphans.length } };
  }

  /** Bytes of every segment file this queue holds now. */
  get diskBytes(): number {
    return this.#segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Durably records an accepted request; throws when the write fails (the sender then gets a 503). */
  append(body: Uint8Array, items: number): number {
    return this.#append(body, items, this.#fsync);
  }

  #append(body: Uint8Array, items: number, sync: boolean): number {
    if (this.#closed) throw new Error('disk queue is closed');
    const seq = this.#nextSeq++;
    const segment = this.#active();
    this.#write(segment, encodeRecord(DATA, seq, items, body));
    if (sync) fdatasyncSync(segment.fd);
    segment.live++;
    this.#live.set(seq, { segment, body, items });
    this.#compact();
    return seq;
  }

  /** The request was sent or dropped: it must not come back after a restart. */
  ack(seq: number): void {
    const live = this.#live.get(seq);
    if (!live || this.#closed) return;
    this.#live.delete(seq);
    live.segment.live--;
    try {
      this.#write(this.#active(), encodeRecord(ACK, seq, 0, new Uint8Array()));
    } catch {
      // A lost ack costs one duplicate after a restart, never data.
    }
    this.#deleteAcknowledged();
  }

  /** Closes the files; unacknowledged records stay on disk for the next queue opened on the directory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#segments) closeSync(s.fd);
    this.#deleteAcknowledged(true);
    OWNED.delete(this.#prefix);
  }

  #active(): Segment {
    const last = this.#segments.at(-1);
    if (last && !last.sealed && last.bytes < this.#segmentBytes) return last;
    const name = `${this.#prefix}-${String(this.#nextSegment++).padStart(8, '0')}${SUFFIX}`;
    const segment = { name, fd: openSync(join(this.#dir, name), 'a'), bytes: 0, live: 0, sealed: false };
    this.#segments.push(segment);
    // The new file's directory entry must be durable too, or a crash can forget the whole segment.
    try {
      if (this.#fsync) this.#sync(true);
    } catch (err) {
      // A file that cannot be synced takes no record: the next append tries a fresh one.
      segment.sealed = true;
      throw err;
    }
    this.#deleteAcknowledged();
    return segment;
  }

  #write(segment: Segment, record: Buffer): void {
    let off = 0;
    try {
      while (off < record.length) off += writeSync(segment.fd, record, off);
    } catch (err) {
      // Records after a partial one could not be read back: later appends go to a fresh file.
      segment.sealed = true;
      segment.bytes += off;
      throw err;
    }
    segment.bytes += record.length;
  }

  #sync(directory = false): void {
    // A sealed file failed a write or a sync: what it holds was synced record by record before that, and
    // syncing it again would only fail again.
    for (const s of this.#segments) if (!s.sealed) fdatasyncSync(s.fd);
    if (!directory) return;
    const fd = openSync(this.#dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes the oldest segments while nothing in them is live (acks sit in the same or later ones). */
  #deleteAcknowledged(all = false): void {
    while (this.#segments.length > (all ? 0 : 1)) {
      const oldest = this.#segments[0];
      if (!oldest || oldest.live > 0) return;
      this.#segments.shift();
      if (!this.#closed) closeSync(oldest.fd);
      unlinkSync(join(this.#dir, oldest.name));
    }
  }

  /** Moves the oldest segment's live records to the active one when dead records take too much disk. */
  #compact(): void {
    while (this.diskBytes > this.#maxDiskBytes && this.#segments.length > 1) {
      const oldest = this.#segments[0];
      if (!oldest) return;
      const segment = this.#active();
      for (const [seq, live] of this.#live) {
        if (live.segment !== oldest) continue;
        this.#write(segment, encodeRecord(DATA, seq, live.items, live.body));
        oldest.live--;
        segment.live++;
        live.segment = segment;
      }
      if (this.#fsync) fdatasyncSync(segment.fd);
      this.#deleteAcknowledged();
    }
  }
}
