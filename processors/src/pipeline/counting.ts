import type { Consumer } from '../component/component.ts';
import type { Processor } from '../component/processor.ts';
import { countItems } from '../otlp/count.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import type { Signal } from '../otlp/schema.ts';
import type { SelfTelemetry } from '../telemetry/self-telemetry.ts';

/**
 * Wraps a processor so its incoming and outgoing items are counted (otelcol_processor_*_items),
 * without each processor having to remember to.
 */
export function countingProcessor<S extends Signal>(
  id: string,
  signal: S,
  telemetry: SelfTelemetry,
  make: (next: Consumer<S>) => Processor<S>,
  next: Consumer<S>,
): Processor<S> {
  const counted: Consumer<S> = {
    consume(data: RequestBySignal[S]) {
      telemetry.processorItems(id, signal, 'outgoing', countItems(signal, data));
      return next.consume(data);
    },
  };
  const inner = make(counted);
  return {
    consume(data) {
      telemetry.processorItems(id, signal, 'incoming', countItems(signal, data));
      return inner.consume(data);
    },
    start: () => inner.start(),
    shutdown: (deadline) => inner.shutdown(deadline),
  };
}
