import { existsSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { countSpans } from '../../bench/otlp-wire.ts';
import { decodeRequest, encodeResponse, encodeStatus } from '../../processors/src/otlp/codec.ts';
import { otlpGrpcService } from '../../processors/src/receivers/otlp/grpc.ts';
import { type CollectorOptions, startCollector } from '../harness/collector.ts';
import { OtlpJsonLinesReader, type ReceivedSpan } from '../harness/otlp-file.ts';
import { httpOk, ManagedProcess } from '../harness/process.ts';
import { goTool } from '../harness/tools.ts';

/**
 * A real Collector with a file sink that a test can take down and bring back on the same ports and the
 * same sink file: the backend outage a processor has to ride out.
 */
export interface OutageBackend {
  /** `http://127.0.0.1:<port>`, the same across restarts. */
  readonly otlpHttpEndpoint: string;
  /** `127.0.0.1:<port>`, the same across restarts. */
  readonly otlpGrpcEndpoint: string;
  readonly up: boolean;
  /** Every span the sink holds, across restarts. */
  spans(): readonly ReceivedSpan[];
  /** Waits until at least `count` spans in the sink satisfy `predicate`; returns them. */
  waitForSpans(
    predicate: (s: ReceivedSpan) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  /** Stops the Collector: its ports refuse connections until `resume`. */
  pause(): Promise<void>;
  /** Starts the Collector again with the same config, ports and sink; resolves once it is healthy. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOutageBackend(opts: CollectorOptions = {}): Promise<OutageBackend> {
  const col = await startCollector(opts);
  const sink = col.fileSinkPath;
  if (sink === undefined) throw new Error('an outage backend needs its file sink');
  // The Collector truncates its sink when it starts, so each run gets its own file: on pause the file is
  // read to the end and moved aside, and what it held is kept here.
  let reader = new OtlpJsonLinesReader(sink);
  const earlier: ReceivedSpan[] = [];
  const spans = (): ReceivedSpan[] => [...earlier, ...reader.spans()];
  const name = opts.name ?? 'otelcol';
  let current: ManagedProcess = col.process;
  let restarts = 0;

  const waitUntil = (ready: () => Promise<boolean>, what: string, timeoutMs: number) =>
    current.waitUntil(ready, what, timeoutMs);

  return {
    otlpHttpEndpoint: col.otlpHttpEndpoint,
    otlpGrpcEndpoint: col.otlpGrpcEndpoint,
    get up() {
      return current.running;
    },
    spans,
    async waitForSpans(predicate, count, timeoutMs = 15_000) {
      let matched: ReceivedSpan[] = [];
      const ready = async () => {
        matched = spans().filter(predicate);
        return matched.length >= count;
      };
      if (current.running) await waitUntil(ready, `${count} matching span(s) in the file sink`, timeoutMs);
      else if (!(await ready()))
        throw new Error(`${name} is paused; ${matched.length} of ${count} spans arrived`);
      return matched;
    },
    async pause() {
      if (!current.running) return;
      await current.stop();
      for (const s of reader.spans()) earlier.push(s);
      if (existsSync(sink)) renameSync(sink, `${sink}.${restarts + 1}`);
      reader = new OtlpJsonLinesReader(sink);
    },
    async resume() {
      if (current.running) return;
      current = ManagedProcess.start({
        name: `${name}-restart-${++restarts}`,
        logDir: dirname(col.configPath),
        command: await goTool('otelcol'),
        args: [`--config=${col.configPath}`],
      });
      await waitUntil(() => httpOk(col.healthUrl), `${name} to be healthy again on the same ports`, 30_000);
    },
    async stop() {
      await current.stop();
      await col.stop();
    },
  };
}

/** How a fault backend answers one export request. */
export type Fault =
  /** 200 (gRPC OK), every span kept. */
  | { readonly kind: 'ok' }
  /** Keeps the spans, then answers 200 only after `delayMs`: a backend slower than the exporter's timeout. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /**
   * An error, spans not kept: HTTP `http` (with `Retry-After: retryAfterS` when given) or gRPC code
   * `grpc` (with a google.rpc.RetryInfo of `retryAfterS` in grpc-status-details-bin when given).
   */
  | { readonly kind: 'error'; readonly http: number; readonly grpc: number; readonly retryAfterS?: number }
  /** 200 with partial_success: the first `rejected` spans of the request are not kept. */
  | { readonly kind: 'partial'; readonly rejected: number; readonly message: string };

export type FaultTransport = 'http' | 'grpc';

export interface FaultRequest {
  readonly transport: FaultTransport;
  /** ms since the epoch when the request arrived. */
  readonly at: number;
  readonly spanIds: readonly string[];
  readonly fault: Fault;
}

/**
 * A scripted OTLP trace backend on both transports: each request takes the next fault of its transport's
 * script (then `ok`), and the backend records what arrived and what it kept. The real Collector cannot be
 * told to answer 429 or partial_success, and those are the answers an exporter must classify.
 */
export interface FaultBackend {
  readonly otlpHttpEndpoint: string;
  readonly otlpGrpcEndpoint: string;
  /** Appends faults to the transport's script. */
  script(transport: FaultTransport, ...faults: Fault[]): void;
  requests(transport?: FaultTransport): readonly FaultRequest[];
  /** Span ids the backend kept (accepted), with repeats when a span was delivered more than once. */
  kept(transport?: FaultTransport): readonly string[];
  /** Spans kept, by count: the only record in `countOnly` mode. */
  keptCount(transport?: FaultTransport): number;
  waitForRequests(transport: FaultTransport, count: number, timeoutMs?: number): Promise<FaultRequest[]>;
  /**
   * An outage: the HTTP port refuses connections (open ones are cut before a request is read) and gRPC
   * answers UNAVAILABLE, keeping nothing, until `resume`.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface FaultBackendOptions {
  /**
   * Count kept spans without decoding or remembering them (a soak sends millions): `requests()` and
   * `kept()` stay empty.
   */
  readonly countOnly?: boolean;
}

function spanIdsOf(body: Uint8Array): string[] {
  const req = decodeRequest('traces', body, 'protobuf');
  return req.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => Buffer.from(s.spanId ?? new Uint8Array()).toString('hex')),
    ),
  );
}

/** google.rpc.Status{code, message, details: [Any(google.rpc.RetryInfo{retry_delay})]}. */
function statusWithRetryInfo(code: number, message: string, delayS: number): Buffer {
  const duration = protobuf.Writer.create().uint32(8).int64(delayS).finish();
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration).finish();
  const any = protobuf.Writer.create()
    .uint32(10)
    .string('type.googleapis.com/google.rpc.RetryInfo')
    .uint32(18)
    .bytes(retryInfo)
    .finish();
  return Buffer.from(
    protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish(),
  );
}

export async function startFaultBackend(opts: FaultBackendOptions = {}): Promise<FaultBackend> {
  const scripts: Record<FaultTransport, Fault[]> = { http: [], grpc: [] };
  const log: FaultRequest[] = [];
  const keptIds: { transport: FaultTransport; id: string }[] = [];
  const counted: Record<FaultTransport, number> = { http: 0, grpc: 0 };
  let down = false;
  const receive = (transport: FaultTransport, body: Uint8Array): { fault: Fault } => {
    const fault = scripts[transport].shift() ?? { kind: 'ok' };
    if (opts.countOnly) {
      const n = countSpans(body);
      counted[transport] +=
        fault.kind === 'ok' || fault.kind === 'slow' ? n : fault.kind === 'partial' ? n - fault.rejected : 0;
      return { fault };
    }
    const ids = spanIdsOf(body);
    log.push({ transport, at: Date.now(), spanIds: ids, fault });
    const keep =
      fault.kind === 'ok' || fault.kind === 'slow'
        ? ids
        : fault.kind === 'partial'
          ? ids.slice(fault.rejected)
          : [];
    for (const id of keep) keptIds.push({ transport, id });
    counted[transport] += keep.length;
    return { fault };
  };

  const http = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const { fault } = receive('http', body);
      const answer = (status: number, payload: Uint8Array, headers: Record<string, string> = {}) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/x-protobuf', ...headers });
        res.end(payload);
      };
      switch (fault.kind) {
        case 'ok':
          answer(200, encodeResponse('traces', 'protobuf'));
          break;
        case 'slow':
          setTimeout(() => answer(200, encodeResponse('traces', 'protobuf')), fault.delayMs);
          break;
        case 'partial':
          answer(
            200,
            encodeResponse('traces', 'protobuf', { rejected: fault.rejected, errorMessage: fault.message }),
          );
          break;
        case 'error':
          answer(
            fault.http,
            encodeStatus('protobuf', fault.grpc, `scripted HTTP ${fault.http}`),
            fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) },
          );
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const httpPort = (http.address() as AddressInfo).port;

  const grpc = new Server();
  grpc.addService(otlpGrpcService('traces'), {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => {
      if (down) {
        done({ code: status.UNAVAILABLE, details: 'backend paused' });
        return;
      }
      const { fault } = receive('grpc', call.request);
      const ok = (partial?: { rejected: number; errorMessage: string }) =>
        done(null, Buffer.from(encodeResponse('traces', 'protobuf', partial)));
      switch (fault.kind) {
        case 'ok':
          ok();
          break;
        case 'slow':
          setTimeout(() => ok(), fault.delayMs);
          break;
        case 'partial':
          ok({ rejected: fault.rejected, errorMessage: fault.message });
          break;
        case 'error': {
          const details = `scripted gRPC code ${fault.grpc}`;
          const metadata = new Metadata();
          if (fault.retryAfterS !== undefined)
            metadata.set(
              'grpc-status-details-bin',
              statusWithRetryInfo(fault.grpc, details, fault.retryAfterS),
            );
          done({ code: fault.grpc, details, metadata });
        }
      }
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  const requests = (transport?: FaultTransport) =>
    log.filter((r) => transport === undefined || r.transport === transport);
  return {
    otlpHttpEndpoint: `http://127.0.0.1:${httpPort}`,
    otlpGrpcEndpoint: `127.0.0.1:${grpcPort}`,
    script(transport, ...faults) {
      scripts[transport].push(...faults);
    },
    requests,
    kept: (transport) =>
      keptIds.filter((k) => transport === undefined || k.transport === transport).map((k) => k.id),
    async waitForRequests(transport, count, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const got = requests(transport);
        if (got.length >= count) return got;
        if (Date.now() > until)
          throw new Error(`${got.length} of ${count} ${transport} request(s) reached the fault backend`);
        await sleep(50);
      }
    },
    keptCount: (transport) => (transport ? counted[transport] : counted.http + counted.grpc),
    async pause() {
      if (down) return;
      down = true;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      await closed;
    },
    async resume() {
      if (!down) return;
      await new Promise<void>((resolve) => http.listen(httpPort, '127.0.0.1', resolve));
      down = false;
    },
    async stop() {
      down = true;
      http.closeAllConnections();
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      grpc.forceShutdown();
    },
  };
}
