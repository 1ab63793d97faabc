import { pino } from 'pino';
import type { Consumer, CreateSettings } from '../component/component.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import type { Signal } from '../otlp/schema.ts';
import { SelfTelemetry } from '../telemetry/self-telemetry.ts';

/** Settings for a component under test: silent logs, its own telemetry, optional pipeline entries. */
export function settings(
  id: string,
  pipelines: Readonly<Record<string, Consumer<Signal>>> = {},
): CreateSettings & { telemetry: SelfTelemetry } {
  return {
    id,
    logger: pino({ level: 'silent' }),
    telemetry: new SelfTelemetry({ processMetrics: false }),
    pipeline: <S extends Signal>(pid: string) => pipelines[pid] as Consumer<S> | undefined,
  };
}

/** A consumer that keeps what it is given. */
export function sink<S extends Signal>(): Consumer<S> & { received: RequestBySignal[S][] } {
  const received: RequestBySignal[S][] = [];
  return {
    received,
    async consume(data) {
      received.push(data);
    },
  };
}

/** The value of one series of a /metrics counter or gauge, or 0. */
export async function metricValue(
  telemetry: SelfTelemetry,
  name: string,
  labels: Readonly<Record<string, string>>,
): Promise<number> {
  const m = await telemetry.registry.getSingleMetric(name)?.get();
  const hit = m?.values.find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return hit?.value ?? 0;
}
