import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, SecretScrubber } from './secret-scrubber.ts';
import { secretValuesOf } from './secret-values.ts';

test('replaces a secret wherever it appears in a JSON log line, raw or JSON-escaped', () => {
  const s = new SecretScrubber();
  const key = 'sk-"quoted"\\key-0123';
  s.add([key]);
  const line = JSON.stringify({
    msg: 'dropping data',
    error: `HTTP 401 invalid key ${key}`,
    nested: { k: key },
  });
  const out = s.scrub(line);
  assert.ok(!out.includes(JSON.stringify(key).slice(1, -1)));
  assert.equal(out.split(REDACTED).length - 1, 2);
  assert.deepEqual(JSON.parse(out).nested, { k: REDACTED }, 'the line stays valid JSON');
});

test('replaces the longer of two overlapping secrets whole', () => {
  const s = new SecretScrubber();
  s.add(['abcdefgh', 'abcdefgh-and-more']);
  assert.equal(s.scrub('x abcdefgh-and-more y abcdefgh'), `x ${REDACTED} y ${REDACTED}`);
});

test('ignores values too short to be credentials and keeps secrets of earlier configs', () => {
  const s = new SecretScrubber();
  s.add(['v2', 'first-secret-value']);
  s.add(['second-secret-value']);
  assert.equal(s.scrub('v2 first-secret-value second-secret-value'), `v2 ${REDACTED} ${REDACTED}`);
});

test("masks an endpoint URL's credentials in an exporter's error, keeping its scheme, host and path", () => {
  const s = new SecretScrubber();
  const url = 'https://llmobs:pw%3A0123456789@otlp.example/v1/traces?tenant=acme&api_key=qk-0123456789';
  s.add(secretValuesOf(`exporters: { otlp_http: { traces_endpoint: '${url}' } }`, {}));
  const line = JSON.stringify({ msg: 'dropping data', error: `POST ${url}: HTTP 401 bad key qk-0123456789` });
  assert.equal(
    JSON.parse(s.scrub(line)).error,
    `POST https://${REDACTED}@otlp.example/v1/traces?tenant=acme&api_key=${REDACTED}: HTTP 401 bad key ${REDACTED}`,
  );
});
