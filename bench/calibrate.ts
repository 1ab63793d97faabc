// In-process timing, on the benchmark's own payload, of the steps the data-changing pipelines add to
// pass-through, to split the differences the cost rounds measure: decoding, the no-op llm_redaction
// walk of pipeline (b), encoding, llm_cost's pricing and llm_metrics' recording, and encoding the priced
// spans (which carry ~20 more attributes). Each step is timed alone on fresh decodes, so the numbers
// leave out what only a running pipeline has (the HTTP server and client, the queue, most GC): they
// say which step is costly, the cost rounds say how much a pipeline costs.
//   node bench/calibrate.ts PAYLOAD_FILE builtin|fallback   (run by the benchmark; JSON on stdout)
import { decodeRequest, encodeRequest } from '../processors/src/otlp/codec.ts';
import type { TracesRequest } from '../processors/src/otlp/model.ts';
import { parseCostConfig } from '../processors/src/processors/cost/config.ts';
import { CostProcessor } from '../processors/src/processors/cost/processor.ts';
import { parseGenAiMetricsConfig } from '../processors/src/processors/genaimetrics/config.ts';
import { GenAiMetricsProcessor } from '../processors/src/processors/genaimetrics/processor.ts';
import { parseRedactionConfig } from '../processors/src/processors/redaction/config.ts';
import { Tally } from '../processors/src/processors/redaction/redactor.ts';
import { settings, sink } from '../processors/src/testing/components.ts';
import { countSpans } from './otlp-wire.ts';
import { readPayloadFile } from './payload.ts';
import { median } from './stats.ts';
import { genAiProcessors, REENCODE_REDACTION } from './targets.ts';

/** Microseconds per span of each step (medians over batches). */
export interface Calibration {
  readonly decodeUs: number;
  /** The (b) pipeline's llm_redaction walk (no entities, every key allowed). */
  readonly walkUs: number;
  /** Encoding the request as received (what (b) adds over forwarding the bytes, with decoding shared). */
  readonly encodeUs: number;
  readonly costUs: number;
  readonly metricsUs: number;
  /** Encoding the request once llm_cost has priced it. */
  readonly encodePricedUs: number;
  /** Bytes per span of the priced request, against the request as received. */
  readonly bytesPerSpan: number;
  readonly pricedBytesPerSpan: number;
}

const STEPS = ['decode', 'walk', 'encode', 'cost', 'metrics', 'encodePriced'] as const;
type Step = (typeof STEPS)[number];

function fail(what: string, v: unknown): never {
  throw new Error(`${what}: ${JSON.stringify(v)}`);
}

async function main(): Promise<void> {
  const [path, catalogue] = process.argv.slice(2);
  if (!path || (catalogue !== 'builtin' && catalogue !== 'fallback'))
    throw new Error('usage: calibrate.ts PAYLOAD_FILE builtin|fallback');
  const bodies = readPayloadFile(path);
  const spans = countSpans(bodies[0] as Buffer);
  const procs = genAiProcessors({ builtinCatalogue: catalogue === 'builtin' }, false);
  const redaction = parseRedactionConfig(REENCODE_REDACTION);
  if (Array.isArray(redaction)) fail('llm_redaction config', redaction);
  const costCfg = parseCostConfig(procs.llm_cost as Record<string, unknown>);
  if (Array.isArray(costCfg)) fail('llm_cost config', costCfg);
  const metricsCfg = parseGenAiMetricsConfig(procs.llm_metrics as Record<string, unknown>);
  if (Array.isArray(metricsCfg)) fail('llm_metrics config', metricsCfg);
  const cost = new CostProcessor(settings('llm_cost'), costCfg, sink<'traces'>());
  const metrics = new GenAiMetricsProcessor(settings('llm_metrics'), metricsCfg, sink<'traces'>());

  let bytes = 0;
  let pricedBytes = 0;
  const batch = (n: number): Record<Step, number> => {
    const t: Record<Step, number> = { decode: 0, walk: 0, encode: 0, cost: 0, metrics: 0, encodePriced: 0 };
    for (let i = 0; i < n; i++) {
      const body = bodies[i % bodies.length] as Buffer;
      let t0 = performance.now();
      const req = decodeRequest('traces', body, 'protobuf') as TracesRequest;
      let t1 = performance.now();
      t.decode += t1 - t0;
      redaction.walker.traces(req, new Tally());
      t0 = performance.now();
      t.walk += t0 - t1;
      bytes += encodeRequest('traces', req, 'protobuf').length;
      t1 = performance.now();
      t.encode += t1 - t0;
      cost.apply(req);
      t0 = performance.now();
      t.cost += t0 - t1;
      metrics.observe(req);
      t1 = performance.now();
      t.metrics += t1 - t0;
      pricedBytes += encodeRequest('traces', req, 'protobuf').length;
      t0 = performance.now();
      t.encodePriced += t0 - t1;
    }
    for (const s of STEPS) t[s] = (t[s] * 1000) / (n * spans);
    return t;
  };
  batch(200); // warm-up: JIT, heap sizing
  bytes = 0;
  pricedBytes = 0;
  const runs = Array.from({ length: 5 }, () => batch(120));
  const med = (s: Step) => median(runs.map((r) => r[s]));
  const total = 5 * 120 * spans;
  const out: Calibration = {
    decodeUs: med('decode'),
    walkUs: med('walk'),
    encodeUs: med('encode'),
    costUs: med('cost'),
    metricsUs: med('metrics'),
    encodePricedUs: med('encodePriced'),
    bytesPerSpan: bytes / total,
    pricedBytesPerSpan: pricedBytes / total,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
