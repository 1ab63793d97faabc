import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

/**
 * One OTLP/gRPC trace Export call with a raw body (valid or not), as no SDK would send it; resolves with
 * the call's error, or null when the server accepted it.
 */
export function grpcExport(endpoint: string, body: Uint8Array): Promise<ServiceError | null> {
  const client = new Client(endpoint, credentials.createInsecure());
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      identity,
      identity,
      Buffer.from(body),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => {
        client.close();
        resolve(err);
      },
    );
  });
}
