import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/**
 * Spans recorded by the real OpenTelemetry JS SDK, shaped like an instrumented LLM call (attributes
 * of every AnyValue type, an event, a link, an error status), for tests that need realistic OTLP.
 */
export async function recordLlmSpans(count = 2): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'chat-api', 'k8s.namespace.name': 'llm-app' }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('llmobs-test', '1.2.3');
  tracer.startActiveSpan('POST /chat', { kind: SpanKind.SERVER }, (parent) => {
    for (let i = 0; i < count; i++) {
      const span = tracer.startSpan(`chat gpt-4o-mini ${i}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 12 + i,
          'gen_ai.usage.output_tokens': 30,
          'gen_ai.request.temperature': 0.25,
          'gen_ai.response.finish_reasons': ['stop'],
          'llm.streaming': false,
        },
        links: [{ context: parent.spanContext(), attributes: { 'link.kind': 'caused-by' } }],
      });
      span.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'my card is 4111 1111 1111 1111' });
      if (i % 2 === 1) span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
      span.end();
    }
    parent.end();
  });
  // The simple processor hands spans to the exporter asynchronously.
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  if (spans.length !== count + 1) throw new Error(`recorded ${spans.length} spans, expected ${count + 1}`);
  return spans;
}

export function sdkProtobuf(spans: ReadableSpan[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('SDK serializer produced nothing');
  return bytes;
}

export function sdkJson(spans: ReadableSpan[]): string {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('SDK serializer produced nothing');
  return Buffer.from(bytes).toString('utf8');
}
