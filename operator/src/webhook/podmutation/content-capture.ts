import type { ContentCapture, Language } from './config.ts';

/**
 * The content-capture switches of each GenAI instrumentation family, all set from one level so whatever
 * instrumentation the app carries records the same thing. `redacted` and `full` both switch capture on
 * in the pod; the difference (redaction before export) is the processor's job.
 *
 * - OpenTelemetry GenAI (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT) is one variable read two
 *   ways: the Node.js instrumentation (@opentelemetry/instrumentation-openai 0.22) takes only
 *   true/false and ignores anything else with a warning; the Python one (openai-v2 2.4b0 with
 *   opentelemetry-util-genai 1.x, always on the latest GenAI conventions) takes only
 *   NO_CONTENT / SPAN_ONLY / EVENT_ONLY / SPAN_AND_EVENT and treats anything else as NO_CONTENT.
 *   So the value follows the container's runtime: true/false for nodejs; for python, and when the
 *   runtime is not known, SPAN_ONLY (content in span attributes, the signal the processor redacts)
 *   or NO_CONTENT. Either mismatch degrades to "no content", never to more.
 * - OpenLLMetry (Traceloop): TRACELOOP_TRACE_CONTENT, true/false; it records content when unset, so
 *   "false" is always written explicitly.
 * - OpenInference (Arize): OPENINFERENCE_HIDE_* booleans, all content-bearing ones set together; they
 *   record everything when unset.
 */
export const OTEL_GENAI_CAPTURE = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT';
export const TRACELOOP_TRACE_CONTENT = 'TRACELOOP_TRACE_CONTENT';
export const OPENINFERENCE_HIDE = [
  'OPENINFERENCE_HIDE_INPUTS',
  'OPENINFERENCE_HIDE_OUTPUTS',
  'OPENINFERENCE_HIDE_INPUT_MESSAGES',
  'OPENINFERENCE_HIDE_OUTPUT_MESSAGES',
  'OPENINFERENCE_HIDE_INPUT_IMAGES',
  'OPENINFERENCE_HIDE_INPUT_TEXT',
  'OPENINFERENCE_HIDE_OUTPUT_TEXT',
  'OPENINFERENCE_HIDE_PROMPTS',
  'OPENINFERENCE_HIDE_CHOICES',
  'OPENINFERENCE_HIDE_EMBEDDINGS_TEXT',
  'OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS',
  'OPENINFERENCE_HIDE_RETRIEVAL_DOCUMENTS',
] as const;

export function contentCaptureEnv(
  level: ContentCapture,
  runtime: Language | undefined,
): { readonly name: string; readonly value: string }[] {
  const on = level !== 'none';
  const otel = runtime === 'nodejs' ? String(on) : on ? 'SPAN_ONLY' : 'NO_CONTENT';
  return [
    { name: OTEL_GENAI_CAPTURE, value: otel },
    { name: TRACELOOP_TRACE_CONTENT, value: String(on) },
    ...OPENINFERENCE_HIDE.map((name) => ({ name, value: String(!on) })),
  ];
}
