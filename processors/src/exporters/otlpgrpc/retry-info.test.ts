import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { retryInfoDelayMs } from './retry-info.ts';

const any = (typeUrl: string, value: Uint8Array) =>
  protobuf.Writer.create().uint32(10).string(typeUrl).uint32(18).bytes(value).finish();
const status = (...details: Uint8Array[]) => {
  const w = protobuf.Writer.create().uint32(8).int32(8).uint32(18).string('slow down');
  for (const d of details) w.uint32(26).bytes(d);
  return w.finish();
};
const retryInfo = (seconds: number, nanos: number) =>
  protobuf.Writer.create()
    .uint32(10)
    .bytes(protobuf.Writer.create().uint32(8).int64(seconds).uint32(16).int32(nanos).finish())
    .finish();

test('reads the retry delay of a RetryInfo among other status details', () => {
  const other = any('type.googleapis.com/google.rpc.ErrorInfo', new Uint8Array([10, 1, 120]));
  const details = status(other, any('type.googleapis.com/google.rpc.RetryInfo', retryInfo(1, 500_000_000)));
  assert.equal(retryInfoDelayMs(details), 1500);
});

test('a RetryInfo without a delay is present with 0 ms; no RetryInfo is undefined', () => {
  assert.equal(
    retryInfoDelayMs(status(any('type.googleapis.com/google.rpc.RetryInfo', new Uint8Array()))),
    0,
  );
  assert.equal(retryInfoDelayMs(status()), undefined);
  assert.equal(retryInfoDelayMs(undefined), undefined);
});

test('an unreadable trailer counts as no RetryInfo instead of throwing', () => {
  assert.equal(retryInfoDelayMs(new Uint8Array([26, 200, 1, 0])), undefined);
});
