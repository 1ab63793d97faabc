import type { Signal } from '../../otlp/schema.ts';
import type { FailClosedReason } from './entities.ts';

/** A request to redact, as OTLP protobuf, sent to a worker thread (the buffer is transferred). */
export interface JobRequest {
  readonly id: number;
  readonly signal: Signal;
  readonly body: ArrayBuffer;
}

/** Sent once by a worker when its rules are compiled: jobs are only sent, and timed, from then on. */
export const READY = 'ready';

/** A worker's answer: the redacted request and its counts, or why it could not be redacted. */
export type JobReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly body: ArrayBuffer;
      /** Tally.redactions entries: `entity\0key` → count. */
      readonly redactions: readonly (readonly [string, number])[];
      readonly failClosed: readonly (readonly [FailClosedReason, number])[];
    }
  | { readonly id: number; readonly ok: false; readonly message: string };
