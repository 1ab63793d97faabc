import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, CreateSettings } from '../../component/component.ts';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import type { Processor } from '../../component/processor.ts';
import type {
  InstrumentationScope,
  Resource,
  ResourceSpans,
  ScopeSpans,
  Span,
  TracesRequest,
} from '../../otlp/model.ts';
import type { DropReason } from '../../telemetry/self-telemetry.ts';
import {
  CHUNK_OVERHEAD,
  DecisionCache,
  decision,
  kept,
  reasonOf,
  sameId,
  spanSize,
  TRACE_OVERHEAD,
  traceKey,
} from './buffer.ts';
import type { SamplingConfig } from './config.ts';
import { detachAttributes, detachResource, detachSpan, ownedId } from './detach.ts';
import { type Evidence, isRoot, NO_TRACE_ID, Policies, PROBABILISTIC, REASONS } from './policy.ts';
import { ConsistentSampler, explicitRandomness } from './randomness.ts';

/** Where buffered spans came from: one per ResourceSpans / ScopeSpans of a received request. */
interface ResourceOrigin {
  readonly resource: Resource | null | undefined;
  readonly schemaUrl: string | undefined;
}
interface ScopeOrigin {
  readonly res: ResourceOrigin;
  readonly scope: InstrumentationScope | null | undefined;
  readonly schemaUrl: string | undefined;
}
/** Consecutive spans of one trace from one scope of one request. */
interface Chunk {
  readonly origin: ScopeOrigin;
  readonly spans: Span[];
}

/** Spans on their way out, in chunks that remember their resource and scope. */
class Parcel {
  chunks: Chunk[] = [];
  spans = 0;
  bytes = 0;

  /** Adds a span of `bytes` (its estimate); returns what the parcel grew by, a new chunk included. */
  add(origin: ScopeOrigin, s: Span, bytes: number): number {
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.origin === origin) last.spans.push(s);
    else {
      this.chunks.push({ origin, spans: [s] });
      bytes += CHUNK_OVERHEAD;
    }
    this.spans++;
    this.bytes += bytes;
    return bytes;
  }
}

/** A trace being buffered: its spans and what they showed so far. */
class TraceEntry extends Parcel implements Evidence {
  readonly key: string;
  readonly traceId: Uint8Array;
  readonly firstSeen: number;
  rootDeadline = Number.POSITIVE_INFINITY;
  decided = false;
  /** Verdicts llm_evaluation announced (llmobs.eval.pending) that have not arrived yet. */
  awaiting = 0;
  /** Its decision had been forgotten: every span of it is a late span. */
  late = false;
  /** Explicit randomness (`rv` in the tracestate), when a span carried it. */
  rv: Uint8Array | undefined;
  matched = 0;
  minStartNs = Number.POSITIVE_INFINITY;
  maxEndNs = Number.NEGATIVE_INFINITY;
  cost = 0;
  traceCost = 0;

  constructor(key: string, traceId: Uint8Array, now: number) {
    super();
    this.key = key;
    this.traceId = traceId;
    this.firstSeen = now;
    this.bytes = TRACE_OVERHEAD;
  }
}

/** A request ready to go to `next`, and what it carries. */
interface Batch {
  readonly request: TracesRequest;
  readonly spans: number;
  readonly bytes: number;
}

/** Largest batch handed to `next` in one request: whole traces, up to these (a bigger trace goes alone). */
const MAX_BATCH_SPANS = 8192;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Backoff while `next` refuses: 100 ms doubling to 5 s. */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface SamplingOptions {
  /** The clock (epoch ms); tests pass their own and drive `tick`. */
  readonly now?: () => number;
}

/**
 * `llm_sampling`: tail-based, per-trace sampling. Spans are buffered by trace id; a trace is decided
 * `decision_wait` after its first span, or `root_grace` after its root span arrived, whichever is
 * first; kept traces are forwarded whole, regrouped under their resource and scope, batched per tick.
 * Policies keep every trace with errors, guardrail or validation failures, high latency or cost,
 * low evaluation scores or negative feedback; the rest is sampled consistently by trace id.
 */
export class SamplingProcessor implements Processor<'traces'> {
  readonly #set: CreateSettings;
  readonly #cfg: SamplingConfig;
  readonly #next: Consumer<'traces'>;
  readonly #now: () => number;
  readonly #policies: Policies;
  readonly #sampler: ConsistentSampler;
  readonly #cache: DecisionCache;
  /** Undecided traces in first-seen order, which is also decision_wait deadline order. */
  readonly #traces = new Map<string, TraceEntry>();
  /** Traces whose root arrived, in arrival order, which is root-deadline order. */
  #roots: TraceEntry[] = [];
  #rootsHead = 0;
  #bufferedBytes = 0;
  /** Kept spans not yet forwarded. */
  #outbox: Parcel[] = [];
  #outboxBytes = 0;
  /** A batch `next` refused, to be offered again first. */
  #pending: Batch | undefined;
  #retryAt = 0;
  #retryMs = 0;
  #pumping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #stopped: Promise<void> | undefined;
  // Counts since the last flush to /metrics: [reason * 2 + keep].
  readonly #traceCounts = new Float64Array(REASONS.length * 2);
  readonly #spanCounts = new Float64Array(REASONS.length * 2);
  #late = { keep: 0, drop: 0, forgotten: 0 };
  #evicted = { capacity: 0, memory: 0 };

  constructor(
    set: CreateSettings,
    cfg: SamplingConfig,
    next: Consumer<'traces'>,
    opts: SamplingOptions = {},
  ) {
    this.#set = set;
    this.#cfg = cfg;
    this.#next = next;
    this.#now = opts.now ?? Date.now;
    this.#policies = new Policies(cfg.policies);
    this.#sampler = new ConsistentSampler(cfg.policies.probabilistic.samplingPercentage);
    this.#cache = new DecisionCache(cfg.decisionCacheSize);
  }

  /** Undecided traces held now. */
  get bufferedTraces(): number {
    return this.#traces.size;
  }

  /** Estimated bytes held now: undecided traces plus kept spans not yet forwarded. */
  get bufferedBytes(): number {
    return this.#bufferedBytes + this.#outboxBytes + (this.#pending?.bytes ?? 0);
  }

  /**
   * Buffers the spans and resolves: the sender is answered once the data is held in memory. Refuses
   * (BackpressureError) only while kept traces cannot be forwarded and fill the whole byte budget.
   */
  async consume(data: TracesRequest): Promise<void> {
    if (this.#closed) throw new BackpressureError(`processor ${this.#set.id} is shutting down`, 1);
    const waiting = this.#outboxBytes + (this.#pending?.bytes ?? 0);
    if (waiting >= this.#cfg.maxBufferedBytes)
      throw new BackpressureError(
        `processor ${this.#set.id}: ${waiting} bytes of kept traces wait for the next consumer`,
        5,
      );
    this.#ingest(data, this.#now(), waiting);
  }

  /** `waiting`: bytes of kept spans awaiting `next` before this request (budget already spent). */
  #ingest(data: TracesRequest, now: number, waiting: number): void {
    const localRoot = this.#cfg.localRoot;
    let prevId: Uint8Array | undefined;
    /** Where spans of `prevId` go: a buffered trace, a parcel of late kept spans, or null (dropped). */
    let target: TraceEntry | Parcel | null = null;
    let targetDecision = 0;
    const lateParcels: Parcel[] = [];
    for (const rs of data.resourceSpans) {
      let res: ResourceOrigin | undefined;
      for (const ss of rs.scopeSpans) {
        let origin: ScopeOrigin | undefined;
        for (const s of ss.spans) {
          if (!res) {
            detachResource(rs.resource);
            res = { resource: rs.resource, schemaUrl: rs.schemaUrl };
          }
          if (!origin) {
            if (ss.scope) detachAttributes(ss.scope.attributes);
            origin = { res, scope: ss.scope, schemaUrl: ss.schemaUrl };
          }
          const id = s.traceId;
          if (!(prevId && id && sameId(prevId, id))) {
            prevId = id;
            const key = traceKey(id);
            if (key === undefined || !id) {
              // Spans that cannot be grouped into a trace are forwarded as they are, never dropped.
              prevId = undefined;
              detachSpan(s, undefined);
              const p = new Parcel();
              p.add(origin, s, spanSize(s));
              lateParcels.push(p);
              this.#countSpans(true, NO_TRACE_ID, 1);
              continue;
            }
            const buffered = this.#traces.get(key);
            if (buffered) target = buffered;
            else {
              const d = this.#cache.get(key);
              if (d !== undefined) {
                targetDecision = d;
                if (kept(d)) {
                  target = new Parcel();
                  lateParcels.push(target);
                } else target = null;
              } else target = this.#newTrace(key, id, now);
            }
          }
          if (target === null) {
            this.#late.drop++;
            this.#countSpans(false, reasonOf(targetDecision), 1);
            continue;
          }
          if (target instanceof TraceEntry) {
            detachSpan(s, target.traceId);
            this.#bufferedBytes += target.add(origin, s, spanSize(s));
            if (target.late) this.#late.forgotten++;
            this.#policies.observe(s, target);
            const verdicts = awaitedVerdicts(s);
            if (verdicts !== 0) {
              target.awaiting = Math.max(0, target.awaiting + verdicts);
              // The last awaited verdict is in: decide as soon as the root's grace allows.
              if (target.awaiting === 0 && target.rootDeadline !== Number.POSITIVE_INFINITY) {
                target.rootDeadline = Math.max(target.rootDeadline, now);
                this.#roots.push(target);
              }
            }
            if (target.rv === undefined && s.traceState) target.rv = explicitRandomness(s.traceState);
            if (target.rootDeadline === Number.POSITIVE_INFINITY && isRoot(s, localRoot)) {
              target.rootDeadline = now + this.#cfg.rootGraceMs;
              this.#roots.push(target);
            }
          } else {
            detachSpan(s, undefined);
            target.add(origin, s, spanSize(s));
            this.#late.keep++;
            this.#countSpans(true, reasonOf(targetDecision), 1);
          }
        }
      }
    }
    for (const p of lateParcels) this.#enqueue(p);
    // Over the byte budget: decide the oldest traces early, on what they have, and forward the kept
    // ones now rather than at the next tick (only forwarding frees their memory; until it has, they
    // may take the total over the budget by what was just decided).
    let evicted = false;
    while (this.#bufferedBytes > this.#cfg.maxBufferedBytes - waiting) {
      const oldest = this.#traces.values().next().value;
      if (!oldest) break;
      this.#evicted.memory++;
      this.#decide(oldest);
      evicted = true;
    }
    this.#flushCounts();
    if (evicted) void this.#pump(now);
  }

  #newTrace(key: string, id: Uint8Array, now: number): TraceEntry {
    if (this.#traces.size >= this.#cfg.maxTraces) {
      const oldest = this.#traces.values().next().value;
      if (oldest) {
        this.#evicted.capacity++;
        this.#decide(oldest);
      }
    }
    const e = new TraceEntry(key, ownedId(id), now);
    if (this.#cache.wasForgotten(key)) e.late = true;
    this.#traces.set(key, e);
    this.#bufferedBytes += TRACE_OVERHEAD;
    return e;
  }

  #decide(e: TraceEntry): void {
    e.decided = true;
    this.#traces.delete(e.key);
    this.#bufferedBytes -= e.bytes;
    const policy = this.#policies.decide(e);
    const keep = policy >= 0 || this.#sampler.keeps(e.traceId, e.rv);
    const reason = policy >= 0 ? policy : PROBABILISTIC;
    this.#cache.set(e.key, decision(keep, reason));
    const i = reason * 2 + (keep ? 1 : 0);
    this.#traceCounts[i] = (this.#traceCounts[i] ?? 0) + 1;
    this.#spanCounts[i] = (this.#spanCounts[i] ?? 0) + e.spans;
    if (keep) this.#enqueue(e);
    else e.chunks = [];
  }

  #enqueue(p: Parcel): void {
    this.#outbox.push(p);
    this.#outboxBytes += p.bytes;
  }

  #countSpans(keep: boolean, reason: number, n: number): void {
    const i = reason * 2 + (keep ? 1 : 0);
    this.#spanCounts[i] = (this.#spanCounts[i] ?? 0) + n;
  }

  #flushCounts(): void {
    const t = this.#set.telemetry;
    const id = this.#set.id;
    for (let i = 0; i < this.#traceCounts.length; i++) {
      const reason = REASONS[i >> 1] ?? 'probabilistic';
      const d = (i & 1) === 1 ? 'keep' : 'drop';
      const traces = this.#traceCounts[i] ?? 0;
      const spans = this.#spanCounts[i] ?? 0;
      if (traces > 0) t.samplingTraces(id, d, reason, traces);
      if (spans > 0) t.samplingSpans(id, d, reason, spans);
    }
    this.#traceCounts.fill(0);
    this.#spanCounts.fill(0);
    const late = this.#late;
    if (late.keep > 0) t.samplingLateSpans(id, 'keep', late.keep);
    if (late.drop > 0) t.samplingLateSpans(id, 'drop', late.drop);
    if (late.forgotten > 0) t.samplingLateSpans(id, 'forgotten', late.forgotten);
    this.#late = { keep: 0, drop: 0, forgotten: 0 };
    const ev = this.#evicted;
    if (ev.capacity > 0) t.samplingEvicted(id, 'capacity', ev.capacity);
    if (ev.memory > 0) t.samplingEvicted(id, 'memory', ev.memory);
    this.#evicted = { capacity: 0, memory: 0 };
    t.samplingBuffered(id, this.#traces.size, this.bufferedBytes);
  }

  /**
   * Decides every trace whose time has come at `now` and forwards what was kept (retrying a refused
   * batch once its backoff has passed). The timer calls it; tests call it with their own clock.
   */
  tick(now: number): Promise<void> {
    const roots = this.#roots;
    while (this.#rootsHead < roots.length) {
      const e = roots[this.#rootsHead];
      if (!e) break;
      if (!e.decided) {
        if (e.rootDeadline > now) break;
        // A verdict is on its way: the trace waits for it (at most decision_wait), so a failed answer
        // can still keep it. The verdict's arrival puts it back in this queue.
        if (e.awaiting === 0) this.#decide(e);
      }
      this.#rootsHead++;
    }
    if (this.#rootsHead > 1024 && this.#rootsHead * 2 > roots.length) {
      this.#roots = roots.slice(this.#rootsHead);
      this.#rootsHead = 0;
    }
    const wait = this.#cfg.decisionWaitMs;
    for (const e of this.#traces.values()) {
      if (e.firstSeen + wait > now) break;
      this.#decide(e);
    }
    this.#flushCounts();
    return this.#pump(now);
  }

  /** Starts forwarding unless it is running, there is nothing to send, or a refused batch waits for its backoff. */
  #pump(now: number): Promise<void> {
    if (this.#pumping) return this.#pumping;
    if ((this.#outbox.length === 0 && !this.#pending) || now < this.#retryAt) return Promise.resolve();
    const p = this.#forward().finally(() => {
      this.#pumping = undefined;
    });
    this.#pumping = p;
    return p;
  }

  /** Builds the next batch from the outbox: whole parcels, regrouped under their resource and scope. */
  #takeBatch(): Batch | undefined {
    if (this.#outbox.length === 0) return undefined;
    const resources = new Map<ResourceOrigin, ResourceSpans>();
    const scopes = new Map<ScopeOrigin, ScopeSpans>();
    const request: TracesRequest = { resourceSpans: [] };
    let spans = 0;
    let bytes = 0;
    let taken = 0;
    for (const p of this.#outbox) {
      if (taken > 0 && (spans + p.spans > MAX_BATCH_SPANS || bytes + p.bytes > MAX_BATCH_BYTES)) break;
      taken++;
      spans += p.spans;
      bytes += p.bytes;
      for (const c of p.chunks) {
        let ss = scopes.get(c.origin);
        if (!ss) {
          let rs = resources.get(c.origin.res);
          if (!rs) {
            rs = {
              resource: c.origin.res.resource,
              scopeSpans: [],
              ...(c.origin.res.schemaUrl !== undefined ? { schemaUrl: c.origin.res.schemaUrl } : {}),
            };
            resources.set(c.origin.res, rs);
            request.resourceSpans.push(rs);
          }
          ss = {
            scope: c.origin.scope,
            spans: [],
            ...(c.origin.schemaUrl !== undefined ? { schemaUrl: c.origin.schemaUrl } : {}),
          };
          scopes.set(c.origin, ss);
          rs.scopeSpans.push(ss);
        }
        for (const s of c.spans) ss.spans.push(s);
      }
      // A decided trace can still be referenced (by the queue of root deadlines) after it is sent:
      // its spans must not be, they are no longer counted.
      p.chunks = [];
    }
    this.#outbox = taken === this.#outbox.length ? [] : this.#outbox.slice(taken);
    this.#outboxBytes -= bytes;
    return { request, spans, bytes };
  }

  /**
   * Hands batches to `next` until the outbox is empty or `next` refuses; a refused batch is kept and
   * offered again after a backoff. Other errors cannot be fixed by retrying: counted as dropped.
   */
  async #forward(): Promise<void> {
    for (;;) {
      const batch = this.#pending ?? this.#takeBatch();
      if (!batch) return;
      this.#pending = undefined;
      try {
        await this.#next.consume(batch.request);
        this.#retryMs = 0;
      } catch (err) {
        if (err instanceof BackpressureError) {
          this.#pending = batch;
          this.#retryMs = this.#retryMs === 0 ? RETRY_INITIAL_MS : Math.min(this.#retryMs * 2, RETRY_MAX_MS);
          this.#retryAt = this.#now() + this.#retryMs;
          this.#set.telemetry.samplingForwardRetries(this.#set.id, 1);
          this.#set.logger.debug(
            { spans: batch.spans, retryInMs: this.#retryMs, error: err.message },
            'next consumer refused kept traces, will retry',
          );
          return;
        }
        const reason: DropReason = err instanceof PermanentError ? 'permanent_error' : 'processor_error';
        this.#set.telemetry.drop(this.#set.id, 'traces', reason, batch.spans);
        this.#set.logger.error({ spans: batch.spans, err }, 'next consumer failed on kept traces, dropped');
      }
    }
  }

  async start(): Promise<void> {
    const { decisionWaitMs, rootGraceMs } = this.#cfg;
    const shortest = rootGraceMs > 0 ? Math.min(rootGraceMs, decisionWaitMs) : decisionWaitMs;
    const every = Math.min(100, Math.max(10, Math.floor(shortest / 4)));
    this.#timer = setInterval(() => {
      this.tick(this.#now()).catch((err: unknown) => {
        this.#set.logger.error({ err }, 'sampling tick failed');
      });
    }, every);
    this.#timer.unref();
  }

  /**
   * Decides every buffered trace now and forwards what is kept, retrying refusals until `deadline`;
   * what is still unsent then is counted as dropped.
   */
  shutdown(deadline: number): Promise<void> {
    this.#stopped ??= this.#stop(deadline);
    return this.#stopped;
  }

  async #stop(deadline: number): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const e of this.#traces.values()) this.#decide(e);
    this.#roots = [];
    this.#rootsHead = 0;
    this.#flushCounts();
    if (this.#pumping) await this.#pumping;
    let delay = 10;
    let refused = false;
    while (this.#outbox.length > 0 || this.#pending) {
      await this.#forward();
      refused = this.#pending !== undefined;
      if (!refused) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 1_000);
    }
    let spans = this.#pending?.spans ?? 0;
    for (const p of this.#outbox) spans += p.spans;
    if (spans > 0) {
      this.#set.telemetry.drop(this.#set.id, 'traces', refused ? 'queue_full' : 'shutdown', spans);
      this.#set.logger.error({ spans }, 'kept traces could not be forwarded before the shutdown deadline');
    }
    this.#pending = undefined;
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.#flushCounts();
  }
}

/**
 * How a span changes the number of verdicts its trace awaits: llm_evaluation marks a judged call with
 * `llmobs.eval.pending` (how many verdicts it queued), and each verdict span carries `llmobs.eval.verdict`.
 */
function awaitedVerdicts(s: Span): number {
  let n = 0;
  for (const kv of s.attributes) {
    if (kv.key === 'llmobs.eval.pending') n += Number(kv.value?.intValue ?? 0);
    else if (kv.key === 'llmobs.eval.verdict' && typeof kv.value?.boolValue === 'boolean') n -= 1;
  }
  return n;
}
