import { join } from 'node:path';
import Long from 'long';
import protobuf from 'protobufjs';
import { installFastDecoders } from './fast-decode.ts';

// 64-bit fields (timestamps in ns, counts) must survive untouched: without Long, protobufjs would
// decode them to doubles and lose precision past 2^53.
protobuf.util.Long = Long;
protobuf.configure();

/**
 * Invalid UTF-8 in a string field is decoded with U+FFFD in its place instead of failing the request.
 * proto3 says strings are UTF-8, but the Collector's receiver takes such requests (its decoder does not
 * check), and OTLP recommends replacing over rejecting: a 400 would drop every valid item sent with it.
 * Set through the JSON form because protobufjs fixes a field's features when it loads the .proto.
 */
function lenientStrings(node: protobuf.INamespace & { fields?: Record<string, protobuf.IField> }): void {
  for (const field of Object.values(node.fields ?? {})) {
    if (field.type === 'string') field.options = { ...field.options, features: { utf8_validation: 'NONE' } };
  }
  for (const nested of Object.values(node.nested ?? {})) lenientStrings(nested as typeof node);
}

const parsed = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'proto', 'otlp.proto')).toJSON();
lenientStrings(parsed);
const root = protobuf.Root.fromJSON(parsed);
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

installFastDecoders(otlpTypes.keyValue);
