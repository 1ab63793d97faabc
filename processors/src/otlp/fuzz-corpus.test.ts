import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRequest, encodeRequest } from './codec.ts';
import { BadRequestError } from './errors.ts';
import { readCorpus } from './fuzz-corpus.ts';

test('every regression-corpus case is accepted or rejected as its name says, and never crashes', () => {
  const corpus = readCorpus();
  assert.ok(corpus.length >= 10, `the corpus has its cases (${corpus.length})`);
  for (const c of corpus) {
    if (c.expect === 'reject') {
      assert.throws(() => decodeRequest(c.signal, c.body, c.encoding), BadRequestError, c.file);
      continue;
    }
    const data = decodeRequest(c.signal, c.body, c.encoding);
    // Accepted data goes on to exporters: it has to encode again, both ways.
    assert.doesNotThrow(() => encodeRequest(c.signal, data, 'protobuf'), c.file);
    assert.doesNotThrow(() => encodeRequest(c.signal, data, 'json'), c.file);
  }
});
