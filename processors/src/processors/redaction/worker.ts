/**
 * The body of one redaction worker thread (`workers: N`): compiles its own copy of the config from the
 * same block, then for each job decodes the request, redacts it with the walk the inline processor
 * runs, and sends the re-encoded request back with its counts. Requests cross the thread boundary as
 * OTLP protobuf (transferred, not copied): the data model holds 64-bit integers as Long objects, which
 * a structured clone would turn into plain objects.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../otlp/model.ts';
import { parseRedactionConfig } from './config.ts';
import { Tally } from './redactor.ts';
import { type JobReply, type JobRequest, READY } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');
const { block } = workerData as { block: Record<string, unknown> };
const cfg = parseRedactionConfig(block);
if (Array.isArray(cfg)) throw new Error(`redaction config refused in worker: ${JSON.stringify(cfg)}`);

port.on('message', (job: JobRequest) => {
  let reply: JobReply;
  try {
    const tally = new Tally();
    const body = new Uint8Array(job.body);
    if (job.signal === 'traces') {
      const req = decodeRequest('traces', body, 'protobuf') as TracesRequest;
      cfg.walker.traces(req, tally);
      reply = ok(job.id, encodeRequest('traces', req, 'protobuf'), tally);
    } else if (job.signal === 'metrics') {
      const req = decodeRequest('metrics', body, 'protobuf') as MetricsRequest;
      cfg.walker.metrics(req, tally);
      reply = ok(job.id, encodeRequest('metrics', req, 'protobuf'), tally);
    } else {
      const req = decodeRequest('logs', body, 'protobuf') as LogsRequest;
      cfg.walker.logs(req, tally);
      reply = ok(job.id, encodeRequest('logs', req, 'protobuf'), tally);
    }
  } catch (err) {
    reply = { id: job.id, ok: false, message: (err as Error).message };
  }
  port.postMessage(reply, reply.ok ? [reply.body] : []);
});
port.postMessage(READY);

function ok(id: number, encoded: Uint8Array, tally: Tally): JobReply {
  // A buffer of its own (not a view of Node's shared pool), so it can be transferred whole.
  const body = new Uint8Array(encoded).buffer;
  return { id, ok: true, body, redactions: [...tally.redactions], failClosed: [...tally.failClosed] };
}
