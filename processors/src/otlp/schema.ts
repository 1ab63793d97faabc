import { join } from 'node:path';
import Long from 'long';
import protobuf from 'protobufjs';

// 64-bit fields (timestamps in ns, counts) must survive untouched: without Long, protobufjs would
// decode them to doubles and lose precision past 2^53.
protobuf.util.Long = Long;
protobuf.configure();

const root = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'proto', 'otlp.proto'));
root.resolveAll();

function type(name: string): protobuf.Type {
  return root.lookupType(`opentelemetry.proto.${name}`);
}

/** The telemetry signals OTLP carries. */
export type Signal = 'traces' | 'metrics' | 'logs';

export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

/** Compiled protobuf types, loaded once at startup. */
export const otlpTypes = {
  traces: {
    request: type('ExportTraceServiceRequest'),
    response: type('ExportTraceServiceResponse'),
  },
  metrics: {
    request: type('ExportMetricsServiceRequest'),
    response: type('ExportMetricsServiceResponse'),
  },
  logs: {
    request: type('ExportLogsServiceRequest'),
    response: type('ExportLogsServiceResponse'),
  },
  rpcStatus: type('RpcStatus'),
  keyValue: type('KeyValue'),
} as const;
