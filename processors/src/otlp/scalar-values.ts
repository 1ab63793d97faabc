import type { AnyValue } from './model.ts';

/**
 * AnyValues built by processors, one class per kind. To every reader they are plain AnyValues (the
 * one field, own and enumerable, as protobufjs and the JSON codec expect); the class lets the splice
 * of appended attributes (span-appends.ts) know the kind with one `instanceof` instead of probing
 * seven optional fields, which on values of mixed shapes is a megamorphic property load each.
 */
export class StringValue implements AnyValue {
  stringValue: string;
  constructor(v: string) {
    this.stringValue = v;
  }
}

export class DoubleValue implements AnyValue {
  doubleValue: number;
  constructor(v: number) {
    this.doubleValue = v;
  }
}

/** An int64 within ±2^53 (token counts, call counts). */
export class IntValue implements AnyValue {
  intValue: number;
  constructor(v: number) {
    this.intValue = v;
  }
}

export const stringValue = (v: string): AnyValue => new StringValue(v);
export const doubleValue = (v: number): AnyValue => new DoubleValue(v);
export const intValue = (v: number): AnyValue => new IntValue(v);
