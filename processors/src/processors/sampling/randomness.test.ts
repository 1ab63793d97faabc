import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsistentSampler, explicitRandomness, thresholdBytes } from './randomness.ts';
import { ids } from './testkit.ts';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
const id = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

describe('consistent probability sampling (W3C / OTel 56-bit randomness)', () => {
  it('computes the rejection threshold (1 − p) × 2^56 as in the OTel specification', () => {
    assert.equal(hex(thresholdBytes(100)), '00000000000000', 'keep all: T = 0');
    assert.equal(hex(thresholdBytes(50)), '80000000000000');
    assert.equal(hex(thresholdBytes(25)), 'c0000000000000');
    assert.equal(hex(thresholdBytes(10)), 'e6666666666666');
    assert.equal(hex(thresholdBytes(1)), 'fd70a3d70a3d71');
    assert.equal(thresholdBytes(0), undefined, 'keep none: T = 2^56');
  });

  it('reads the randomness from trace id bytes 9..15 and keeps when it is at least the threshold', () => {
    const half = new ConsistentSampler(50);
    assert.equal(half.keeps(id('ffffffffffffffffff80000000000000')), true, 'R = T is kept');
    assert.equal(half.keeps(id('ffffffffffffffffff7fffffffffffff')), false);
    // Bytes 0..8 play no part.
    assert.equal(half.keeps(id('000000000000000000ffffffffffffff')), true);
    assert.equal(new ConsistentSampler(100).keeps(id('00000000000000000000000000000001')), true);
    assert.equal(new ConsistentSampler(0).keeps(id('ffffffffffffffffffffffffffffffff')), false);
  });

  it('uses the explicit rv of the ot tracestate entry when a trace carries one', () => {
    assert.equal(hex(explicitRandomness('vendor=x,ot=th:8;rv:7fffffffffffff')), '7fffffffffffff');
    assert.equal(hex(explicitRandomness(' ot=rv:ffffffffffffff')), 'ffffffffffffff');
    assert.equal(explicitRandomness('ot=rv:xyz'), undefined);
    assert.equal(explicitRandomness('other=rv:ffffffffffffff'), undefined);
    const half = new ConsistentSampler(50);
    const traceId = id('ffffffffffffffffffffffffffffffff');
    assert.equal(half.keeps(traceId, explicitRandomness('ot=rv:00000000000001')), false);
  });

  it('is a pure function of the trace: instances agree, and what a rate keeps every higher rate keeps', () => {
    const next = ids(99);
    const a10 = new ConsistentSampler(10);
    const b10 = new ConsistentSampler(10);
    const a20 = new ConsistentSampler(20);
    for (let i = 0; i < 20_000; i++) {
      const t = id(next());
      const k = a10.keeps(t);
      assert.equal(b10.keeps(t), k);
      if (k) assert.ok(a20.keeps(t));
    }
  });
});
