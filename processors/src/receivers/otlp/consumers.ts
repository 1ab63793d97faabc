import type { Consumer } from '../../component/component.ts';
import type { Signal } from '../../otlp/schema.ts';

/** The pipelines' entry points a receiver feeds, by signal; a signal with no pipeline is absent. */
export type SignalConsumers = { readonly [S in Signal]?: Consumer<S> };
