// The downstream sink both targets export to: an OTLP/HTTP endpoint that counts requests, bytes and
// spans (by walking the protobuf wire format, see otlp-wire.ts) and answers 200 with an empty body,
// which is a valid empty ExportTraceServiceResponse. Runs in its own process so its CPU is never
// charged to a target; `GET /stats` returns the counters as JSON. One request in SAMPLE_EVERY is also
// decoded in full (with the processor's own codec) to count its LLM spans and those carrying a cost,
// so a benchmark of the cost pipeline cannot silently measure a pipeline that priced nothing.
//   node bench/sink.ts --port 4319
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { decodeRequest } from '../processors/src/otlp/codec.ts';
import type { KeyValue } from '../processors/src/otlp/model.ts';
import { countSpans } from './otlp-wire.ts';
import { PLANTED_VALUES } from './payload.ts';

export interface SinkStats {
  readonly requests: number;
  readonly spans: number;
  /** Bytes as received (compressed when the exporter compresses). */
  readonly bytes: number;
  /** Requests whose body was not a readable ExportTraceServiceRequest. */
  readonly malformed: number;
  /** The decoded sample: requests, their spans, LLM spans among them, and LLM spans with a cost amount. */
  readonly sampledRequests: number;
  readonly sampledSpans: number;
  readonly sampledLlmSpans: number;
  readonly sampledPricedSpans: number;
  /** In the decoded sample: planted PII values (bench/payload.ts PLANTED) still present in span attribute strings. */
  readonly sampledPlanted: number;
  /** In the decoded sample: spans with a mask token (`<EMAIL>`, `<CREDIT_CARD>`, `<PHONE_NUMBER>`, `****`). */
  readonly sampledMaskedSpans: number;
}

/** Every SAMPLE_EVERY-th request (the 1st, the 51st, ...) is decoded in full. */
const SAMPLE_EVERY = 50;
const LLM_KEY = 'gen_ai.operation.name';
const COST_KEY = 'gen_ai.usage.cost.amount';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
const port = Number(values.port ?? 0);
const host = values.host ?? '127.0.0.1';

const stats = {
  requests: 0,
  spans: 0,
  bytes: 0,
  malformed: 0,
  sampledRequests: 0,
  sampledSpans: 0,
  sampledLlmSpans: 0,
  sampledPricedSpans: 0,
  sampledPlanted: 0,
  sampledMaskedSpans: 0,
} satisfies SinkStats;

const MASK = /<EMAIL>|<CREDIT_CARD>|<PHONE_NUMBER>|\*\*\*\*/;

/** Planted values left in the string values of `attrs`, and whether any holds a mask token. */
function pii(attrs: readonly KeyValue[]): { planted: number; masked: boolean } {
  let planted = 0;
  let masked = false;
  for (const kv of attrs) {
    const v = kv.value?.stringValue;
    if (typeof v !== 'string' || v.length < 8) continue;
    for (const p of PLANTED_VALUES) for (let at = v.indexOf(p); at >= 0; at = v.indexOf(p, at + 1)) planted++;
    if (!masked && MASK.test(v)) masked = true;
  }
  return { planted, masked };
}

function sample(body: Buffer): void {
  const req = decodeRequest('traces', body, 'protobuf');
  stats.sampledRequests++;
  for (const rs of req.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans) {
        stats.sampledSpans++;
        const leak = pii(span.attributes);
        stats.sampledPlanted += leak.planted;
        if (leak.masked) stats.sampledMaskedSpans++;
        if (!span.attributes.some((kv) => kv.key === LLM_KEY)) continue;
        stats.sampledLlmSpans++;
        const cost = span.attributes.find((kv) => kv.key === COST_KEY)?.value?.doubleValue;
        if (typeof cost === 'number' && cost > 0) stats.sampledPricedSpans++;
      }
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    chunks.push(c);
    size += c.length;
  });
  req.on('end', () => {
    stats.requests++;
    stats.bytes += size;
    try {
      let body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      stats.spans += countSpans(body);
      if (stats.requests % SAMPLE_EVERY === 1) sample(body);
    } catch {
      stats.malformed++;
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => {
  const a = server.address();
  process.stdout.write(`sink listening on ${typeof a === 'object' && a ? a.port : a}\n`);
});
// Nothing to flush: stop at once, and stop too if the benchmark that started this sink has gone.
process.once('SIGTERM', () => process.exit(0));
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
