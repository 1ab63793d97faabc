import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { goTool } from './tools.ts';

/** An attribute value, decoded from OTLP/JSON (`intValue` strings become numbers). */
export type AttrValue =
  | string
  | number
  | boolean
  | null
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface JaegerSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** The resource's `service.name`. */
  readonly service: string;
  /** The instrumentation scope that produced the span. */
  readonly scope: { readonly name: string; readonly version: string | undefined };
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly status: { readonly code: 'unset' | 'ok' | 'error'; readonly message: string | undefined };
  readonly attributes: Readonly<Record<string, AttrValue>>;
  readonly resource: Readonly<Record<string, AttrValue>>;
  readonly events: readonly {
    readonly name: string;
    readonly attributes: Readonly<Record<string, AttrValue>>;
  }[];
}

export interface Jaeger {
  /** OTLP/HTTP base URL (`http://127.0.0.1:<port>`): SDKs append `/v1/traces`. */
  readonly otlpHttpEndpoint: string;
  /** OTLP/gRPC endpoint as `127.0.0.1:<port>`. */
  readonly otlpGrpcEndpoint: string;
  /** The query service (UI and HTTP APIs). */
  readonly queryUrl: string;
  readonly logFile: string;
  /** Every stored span of `service`, oldest trace first. */
  traces(service: string): Promise<JaegerSpan[]>;
  /** Names of the services Jaeger has seen. */
  services(): Promise<string[]>;
  /**
   * Polls until at least `min` spans of `service` satisfy `predicate`, and returns those spans. Spans reach
   * the memory store asynchronously after the client's export returned, so tests wait instead of reading once.
   */
  waitForSpans(
    service: string,
    predicate: (span: JaegerSpan) => boolean,
    timeoutMs?: number,
    min?: number,
  ): Promise<JaegerSpan[]>;
  stop(): Promise<void>;
}

function configYaml(p: {
  otlpGrpc: number;
  otlpHttp: number;
  queryHttp: number;
  queryGrpc: number;
  health: number;
}) {
  // Only what the tests use: OTLP in, an in-memory store, the query API. Every listener is pinned to
  // loopback on a free port; components left out (remote sampling, zipkin, jaeger receivers, pprof, internal
  // metrics on :8888) would otherwise grab fixed ports on all interfaces.
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.health}
  jaeger_query:
    # On by default in v2: Jaeger would trace its own queries into the store the tests read.
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${p.otlpHttp}

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeValue(v: unknown): AttrValue {
  if (!isRecord(v)) return null;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (typeof v.bytesValue === 'string') return v.bytesValue;
  if (isRecord(v.arrayValue)) {
    return Array.isArray(v.arrayValue.values) ? v.arrayValue.values.map(decodeValue) : [];
  }
  if (isRecord(v.kvlistValue)) return decodeAttributes(v.kvlistValue.values);
  // An empty value object: a bool false, int 0 or empty string lost to proto3 JSON's default omission.
  return null;
}

function decodeAttributes(list: unknown): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (isRecord(kv) && typeof kv.key === 'string') out[kv.key] = decodeValue(kv.value);
  }
  return out;
}

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

function decodeKind(k: unknown): SpanKind {
  if (typeof k === 'number') return KINDS[k] ?? 'unspecified';
  if (typeof k === 'string') {
    const name = k.replace(/^SPAN_KIND_/, '').toLowerCase();
    return (KINDS as readonly string[]).includes(name) ? (name as SpanKind) : 'unspecified';
  }
  return 'unspecified';
}

function decodeStatus(s: unknown): JaegerSpan['status'] {
  const code = isRecord(s) ? s.code : undefined;
  const message =
    isRecord(s) && typeof s.message === 'string' && s.message.length > 0 ? s.message : undefined;
  if (code === 1 || code === 'STATUS_CODE_OK') return { code: 'ok', message };
  if (code === 2 || code === 'STATUS_CODE_ERROR') return { code: 'error', message };
  return { code: 'unset', message };
}

/** Flattens the v3 API's OTLP/JSON `TracesData` into spans that carry their resource and scope. */
export function decodeTracesData(result: unknown): JaegerSpan[] {
  const out: JaegerSpan[] = [];
  const resourceSpans = isRecord(result) && Array.isArray(result.resourceSpans) ? result.resourceSpans : [];
  for (const rs of resourceSpans) {
    if (!isRecord(rs)) continue;
    const resource = decodeAttributes(isRecord(rs.resource) ? rs.resource.attributes : undefined);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : '';
    for (const ss of Array.isArray(rs.scopeSpans) ? rs.scopeSpans : []) {
      if (!isRecord(ss)) continue;
      const scope = isRecord(ss.scope) ? ss.scope : {};
      for (const sp of Array.isArray(ss.spans) ? ss.spans : []) {
        if (!isRecord(sp)) continue;
        const parent =
          typeof sp.parentSpanId === 'string' && sp.parentSpanId.length > 0 ? sp.parentSpanId : undefined;
        out.push({
          traceId: String(sp.traceId ?? ''),
          spanId: String(sp.spanId ?? ''),
          parentSpanId: parent,
          name: String(sp.name ?? ''),
          kind: decodeKind(sp.kind),
          service,
          scope: {
            name: typeof scope.name === 'string' ? scope.name : '',
            version: typeof scope.version === 'string' ? scope.version : undefined,
          },
          startTimeUnixNano: BigInt(String(sp.startTimeUnixNano ?? '0')),
          endTimeUnixNano: BigInt(String(sp.endTimeUnixNano ?? '0')),
          status: decodeStatus(sp.status),
          attributes: decodeAttributes(sp.attributes),
          resource,
          events: (Array.isArray(sp.events) ? sp.events : []).filter(isRecord).map((e) => ({
            name: String(e.name ?? ''),
            attributes: decodeAttributes(e.attributes),
          })),
        });
      }
    }
  }
  return out.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
}

/**
 * Starts Jaeger v2 (the Collector-based `jaeger` binary built by tools/build.sh) with an in-memory store,
 * OTLP receivers and the query API, all on loopback with free ports, and waits until it accepts spans
 * and answers queries.
 */
export async function startJaeger(): Promise<Jaeger> {
  const binary = await goTool('jaeger');
  // A free port can be taken by someone else before Jaeger binds it; a fresh set of ports fixes that.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary);
    } catch (err: unknown) {
      if (attempt < 3 && err instanceof Error && /address already in use/.test(err.message)) continue;
      throw err;
    }
  }
}

async function startOnce(binary: string): Promise<Jaeger> {
  const [otlpGrpc = 0, otlpHttp = 0, queryHttp = 0, queryGrpc = 0, health = 0] = await freePorts(5);
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-jaeger-'));
  const configFile = join(dir, 'jaeger.yaml');
  writeFileSync(configFile, configYaml({ otlpGrpc, otlpHttp, queryHttp, queryGrpc, health }));
  const proc = ManagedProcess.start({
    name: 'jaeger',
    command: binary,
    args: ['--config', configFile],
    logDir: dir,
  });
  const otlpHttpEndpoint = `http://127.0.0.1:${otlpHttp}`;
  const queryUrl = `http://127.0.0.1:${queryHttp}`;
  const startedAt = Date.now();
  try {
    await proc.waitUntil(
      async () =>
        (await httpOk(`http://127.0.0.1:${health}/status`)) &&
        (await httpOk(`${queryUrl}/api/v3/services`)) &&
        // An empty export request is valid OTLP: a 200 means the receiver is really accepting spans.
        (await httpOk(`${otlpHttpEndpoint}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: new Uint8Array(0),
        })),
      'Jaeger to accept OTLP and answer queries',
      30_000,
    );
  } catch (err: unknown) {
    await proc.stop();
    throw err;
  }

  const traces = async (service: string): Promise<JaegerSpan[]> => {
    const params = new URLSearchParams({
      'query.service_name': service,
      // The memory store filters on span start time; a day either side of startup covers clock skew.
      'query.start_time_min': new Date(startedAt - 86_400_000).toISOString(),
      'query.start_time_max': new Date(Date.now() + 86_400_000).toISOString(),
      'query.num_traces': '1000',
    });
    const res = await fetch(`${queryUrl}/api/v3/traces?${params}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status === 404) return []; // the v3 API's answer for "no traces found"
    if (!res.ok)
      throw new Error(`Jaeger query for service ${service}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    const body: unknown = JSON.parse(text);
    return decodeTracesData(isRecord(body) ? body.result : undefined);
  };

  return {
    otlpHttpEndpoint,
    otlpGrpcEndpoint: `127.0.0.1:${otlpGrpc}`,
    queryUrl,
    logFile: proc.logFile,
    traces,
    async services() {
      const res = await fetch(`${queryUrl}/api/v3/services`, { signal: AbortSignal.timeout(10_000) });
      const body: unknown = await res.json();
      return isRecord(body) && Array.isArray(body.services) ? body.services.map(String) : [];
    },
    async waitForSpans(service, predicate, timeoutMs = 15_000, min = 1) {
      const deadline = Date.now() + timeoutMs;
      let seen: JaegerSpan[] = [];
      for (;;) {
        if (!proc.running)
          throw new Error(`Jaeger exited while waiting for spans; log ${proc.logFile}:\n${proc.tail()}`);
        seen = await traces(service);
        const matching = seen.filter(predicate);
        if (matching.length >= min) return matching;
        if (Date.now() > deadline) break;
        await sleep(200);
      }
      const summary = seen.map((s) => `${s.name} (${s.scope.name})`).join(', ') || 'none';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${min} matching span(s) of service ${service}; spans seen: ${summary}`,
      );
    },
    stop: () => proc.stop(),
  };
}
