// In-process latency of the llmobs processor's redaction on one span with a large prompt: the walk
// `llm_redaction` runs on every request (OtlpRedaction.traces, as RedactionProcessor.redact() calls it),
// with the redaction comparison's rules, timed alone (no decode, encode or HTTP) on a fresh request
// holding a fresh copy of the text each iteration (as a decoder hands over a new string per request).
// Each case starts after a full collection, so no case pays for garbage an earlier one left. Realistic
// text with planted PII at 64, 128 and 256 KiB, and ReDoS-style inputs at the same sizes; prints JSON
// (RedactionLatency) on stdout. The benchmark runs it pinned to the target's CPU.
//   node bench/redaction-latency.ts [--iterations 200] [--warmup 30]

import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TracesRequest } from '../processors/src/otlp/model.ts';
import { parseRedactionConfig } from '../processors/src/processors/redaction/config.ts';
import { Tally } from '../processors/src/processors/redaction/redactor.ts';
import { PLANTED_VALUES, piiText } from './payload.ts';
import { cpuSeconds, cpusAllowed, cpuTimes } from './proc-stats.ts';
import { percentile } from './stats.ts';
import { OURS_REDACTION } from './targets.ts';

export const SIZES_KIB = [64, 128, 256] as const;
/** One more size for the realistic prompt only: whether growth past 256 KiB keeps the same slope. */
export const EXTRA_KIB = 512;

export interface LatencyCase {
  readonly input: string;
  readonly kib: number;
  readonly bytes: number;
  readonly iterations: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * The process's CPU time (user + system, every thread; all pinned to one CPU) per iteration: what
   * the walk cost that core, without the time other processes held it. p50 and p99, ms.
   */
  readonly cpuP50Ms: number;
  readonly cpuP99Ms: number;
  /** Redactions counted on the last iteration. */
  readonly redactions: number;
  /**
   * Share of the pinned CPU's time that other processes used while this case ran (0–1): on a shared
   * machine, what inflates wall-clock times here. Absent when the process is not pinned to one CPU.
   */
  readonly otherCpuShare?: number;
}

export interface RedactionLatency {
  readonly iterations: number;
  readonly warmup: number;
  readonly cases: readonly LatencyCase[];
  /** Planted values left after redacting the realistic inputs (must be 0). */
  readonly plantedLeft: number;
}

/** The inputs: a name, how the text is built for `bytes`, and whether it is JSON messages. */
export const INPUTS: readonly { name: string; label: string; build: (bytes: number) => string }[] = [
  {
    name: 'realistic',
    label: 'realistic prompt (JSON messages, prose with an email, card or phone number every ~1.5 KB)',
    build: (bytes) => {
      let s = 0x9e3779b9;
      const rand = () => {
        s = (s * 1664525 + 1013904223) >>> 0;
        return s / 2 ** 32;
      };
      return JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: piiText(rand, bytes - 60) }] },
      ]);
    },
  },
  { name: 'at-run', label: "`'a' × n + '@'` (one long local part)", build: (n) => `${'a'.repeat(n - 1)}@` },
  { name: 'at-many', label: "`'a@' × n/2` (an @ every other character)", build: (n) => 'a@'.repeat(n / 2) },
  {
    name: 'dot-at',
    label: "`'a.' × n/2 + '@b'` (dotted local part, no domain)",
    build: (n) => `${'a.'.repeat(n / 2 - 1)}@b`,
  },
  { name: 'digits', label: '`1` × n (one digit run)', build: (n) => '1'.repeat(n) },
  { name: 'digit-groups', label: "`'1234 ' × n/5` (grouped digits)", build: (n) => '1234 '.repeat(n / 5) },
  { name: 'digit-dashes', label: "`'1-' × n/2` (digits and dashes)", build: (n) => '1-'.repeat(n / 2) },
  { name: 'plus-digits', label: "`'+1 ' × n/3` (phone-like prefixes)", build: (n) => '+1 '.repeat(n / 3) },
];

function request(key: string, value: string): TracesRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chat-api' } }] },
        scopeSpans: [
          {
            scope: { name: 'bench', attributes: [] },
            spans: [
              {
                name: 'chat gpt-4o-mini',
                attributes: [
                  { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                  { key, value: { stringValue: value } },
                ],
                events: [],
                links: [],
              },
            ],
          },
        ],
      },
    ],
  };
}

/** A full, synchronous garbage collection (V8's `gc()`, exposed for this process only). */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('gc() could not be exposed');
  return () => gc();
}

/** A new flat string decoded from `bytes`, as the protobuf decoder makes one from a request body. */
function freshCopy(bytes: Buffer): string {
  return bytes.toString('utf8');
}

/** The one CPU this process is pinned to, or undefined. */
function pinnedCpu(): number | undefined {
  const list = cpusAllowed('self');
  return /^\d+$/.test(list) ? Number(list) : undefined;
}

/** Starts measuring how much of `cpu` other processes use; the returned function gives the share so far. */
function otherLoad(cpu: number | undefined): () => number | undefined {
  if (cpu === undefined) return () => undefined;
  const t0 = cpuTimes()[cpu];
  const own0 = cpuSeconds(process.pid);
  return () => {
    const t1 = cpuTimes()[cpu];
    if (!t0 || !t1 || t1.total <= t0.total) return undefined;
    const others = t1.busy - t0.busy - (cpuSeconds(process.pid) - own0);
    return Math.min(1, Math.max(0, others / (t1.total - t0.total)));
  };
}

function main(): void {
  const { values } = parseArgs({
    options: { iterations: { type: 'string', default: '200' }, warmup: { type: 'string', default: '30' } },
  });
  const iterations = Number(values.iterations);
  const warmup = Number(values.warmup);
  const cfg = parseRedactionConfig(OURS_REDACTION);
  if (Array.isArray(cfg)) throw new Error(`redaction config refused: ${JSON.stringify(cfg)}`);
  const gc = fullGc();
  const cpu = pinnedCpu();
  const cases: LatencyCase[] = [];
  let plantedLeft = 0;
  // Warm every input at every size before timing any (JIT, heap sizing), so the first case timed
  // is not the one that pays for it.
  const texts = new Map<string, string>();
  // The UTF-8 bytes of each input, encoded once: each iteration decodes its own string from them.
  const bytesOf = new Map<string, Buffer>();
  const sizesOf = (name: string) => (name === 'realistic' ? [...SIZES_KIB, EXTRA_KIB] : [...SIZES_KIB]);
  for (const input of INPUTS)
    for (const kib of sizesOf(input.name)) {
      const text = input.build(kib * 1024);
      texts.set(`${input.name}/${kib}`, text);
      const bytes = Buffer.from(text, 'utf8');
      bytesOf.set(`${input.name}/${kib}`, bytes);
      const key = input.name === 'realistic' ? 'gen_ai.input.messages' : 'input.value';
      for (let i = 0; i < warmup; i++) cfg.walker.traces(request(key, freshCopy(bytes)), new Tally());
    }
  for (const input of INPUTS) {
    for (const kib of sizesOf(input.name)) {
      const text = texts.get(`${input.name}/${kib}`) ?? input.build(kib * 1024);
      const bytes = bytesOf.get(`${input.name}/${kib}`) ?? Buffer.from(text, 'utf8');
      const key = input.name === 'realistic' ? 'gen_ai.input.messages' : 'input.value';
      const times: number[] = [];
      const cpuTimesMs: number[] = [];
      let last: TracesRequest | undefined;
      let tally = new Tally();
      gc();
      const others = otherLoad(cpu);
      for (let i = 0; i < warmup + iterations; i++) {
        const req = request(key, freshCopy(bytes));
        tally = new Tally();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        cfg.walker.traces(req, tally);
        const dt = performance.now() - t0;
        const dc = process.cpuUsage(c0);
        if (i >= warmup) {
          times.push(dt);
          cpuTimesMs.push((dc.user + dc.system) / 1000);
        }
        last = req;
      }
      if (input.name === 'realistic' && last) {
        const out = last.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes[1]?.value?.stringValue ?? '';
        for (const p of PLANTED_VALUES) if (out.includes(p)) plantedLeft++;
      }
      const otherCpuShare = others();
      let redactions = 0;
      for (const n of tally.redactions.values()) redactions += n;
      cases.push({
        input: input.name,
        kib,
        bytes: Buffer.byteLength(text),
        iterations,
        p50Ms: percentile(times, 50),
        p99Ms: percentile(times, 99),
        maxMs: Math.max(...times),
        cpuP50Ms: percentile(cpuTimesMs, 50),
        cpuP99Ms: percentile(cpuTimesMs, 99),
        redactions,
        ...(otherCpuShare === undefined ? {} : { otherCpuShare }),
      });
      process.stderr.write(
        `redaction-latency: ${input.name} ${kib} KiB p50 ${percentile(times, 50).toFixed(2)} ms p99 ${percentile(times, 99).toFixed(2)} ms (on-CPU p50 ${percentile(cpuTimesMs, 50).toFixed(2)} ms)${otherCpuShare === undefined ? '' : `, other processes ${(100 * otherCpuShare).toFixed(0)} % of CPU ${cpu}`}\n`,
      );
    }
  }
  const out: RedactionLatency = { iterations, warmup, cases, plantedLeft };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
