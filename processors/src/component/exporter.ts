import type { Reservation } from '../exporterhelper/queue.ts';
import type { RequestBySignal } from '../otlp/model.ts';
import type { Signal } from '../otlp/schema.ts';
import type { Component } from './component.ts';

/**
 * An exporter admits data in two steps so that a fan-out is all-or-nothing: `prepare` encodes the
 * request (once per exporter) and reserves queue room, throwing BackpressureError when there is none;
 * the caller then commits every reservation or releases them all.
 */
export interface Exporter<S extends Signal> extends Component {
  /**
   * `unchanged`: the request is byte for byte what was received as protobuf (no processor changed it);
   * a protobuf exporter may send those bytes instead of encoding again.
   */
  prepare(data: RequestBySignal[S], items: number, unchanged?: Uint8Array): Reservation;
}
