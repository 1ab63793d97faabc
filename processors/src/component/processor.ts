import type { Signal } from '../otlp/schema.ts';
import type { Component, Consumer } from './component.ts';

/**
 * A processor consumes a request, may change or drop parts of it in place, and passes it to `next`
 * (the Collector's consumeTraces → next). Throwing BackpressureError asks the sender to retry later.
 */
export interface Processor<S extends Signal> extends Component, Consumer<S> {}
