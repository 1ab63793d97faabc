import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { secretValuesOf } from './secret-values.ts';

test('finds expanded header values, opaque keys and key-file contents, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-secret-values-'));
  try {
    const keyFile = join(dir, 'hmac');
    writeFileSync(keyFile, 'hmac-key-content-0123456789\n');
    const text = `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:4318 } } }
processors:
  llm_redaction: { action: hash, hmac: { key_file: ${keyFile}, key_id: k1 } }
  llm_evaluation: { judge: { endpoint: http://judge, api_key: '\${env:JUDGE_KEY}', model: gpt-4o } }
exporters:
  otlp_http/dd:
    endpoint: https://otlp.example
    headers: { DD-API-KEY: '\${env:DD_KEY}', X-Scope-OrgID: tenant-1 }
  otlp_grpc/x: { endpoint: 127.0.0.1:4317, headers: { authorization: "Bearer \${DD_KEY}" } }
`;
    const found = secretValuesOf(text, { DD_KEY: 'dd-secret-value', JUDGE_KEY: 'judge-secret-value' });
    assert.deepEqual(
      [...found].sort(),
      [
        'Bearer dd-secret-value',
        'dd-secret-value',
        'hmac-key-content-0123456789',
        'hmac-key-content-0123456789\n',
        'judge-secret-value',
        'tenant-1',
      ].sort(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config that does not parse, or names a missing key file, has no secrets and does not throw', () => {
  assert.equal(secretValuesOf('exporters: [unclosed', {}).size, 0);
  // Aliases nested ten deep name 10^10 values: refused by the expansion's budget, not walked.
  const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 10; i++)
    bomb.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  assert.equal(secretValuesOf(bomb.join('\n'), {}).size, 0);
  assert.equal(secretValuesOf('processors: { r: { hmac: { key_file: /nonexistent/key } } }', {}).size, 0);
});

test('finds the credentials an endpoint URL embeds: userinfo, its password, a token user, credential query values', () => {
  const text = `
exporters:
  otlp_http/basic: { endpoint: 'https://llmobs:\${env:URL_PASSWORD}@otlp.example:4318' }
  otlp_http/token: { traces_endpoint: 'https://tok%2Fen-0123456789@intake.example/v1/traces' }
  otlp_http/query:
    logs_endpoint: https://logs.example/v1/logs?tenant=acme-production&api_key=qk-0123456789&x-access-token=a+b%2Bc-0123
  loadbalancing: { resolver: { static: { hostnames: ['http://lb:lb-password-0123@10.0.0.1:4317'] } } }
`;
  const found = secretValuesOf(text, { URL_PASSWORD: 'p%40ss-0123456789' });
  const basic = (s: string) => Buffer.from(s).toString('base64');
  assert.deepEqual(
    [...found].sort(),
    [
      // userinfo whole, the password as written, decoded, and as HTTP Basic credentials
      'llmobs:p%40ss-0123456789',
      'p%40ss-0123456789',
      'p@ss-0123456789',
      basic('llmobs:p@ss-0123456789'),
      // a user with no password is the token
      'tok%2Fen-0123456789',
      'tok/en-0123456789',
      basic('tok/en-0123456789:'),
      // credential-named query parameters only, as written and form-decoded
      'qk-0123456789',
      'a+b%2Bc-0123',
      'a b+c-0123',
      // inside a list
      'lb:lb-password-0123',
      'lb-password-0123',
      basic('lb:lb-password-0123'),
    ].sort(),
  );
});

test('a URL without credentials, or a string that is not a URL, gives no secrets', () => {
  const text = `
exporters:
  otlp_http/a: { endpoint: 'https://otlp.example:4318/path@v2?service=chat&monkey=banana-0123456789#key=x' }
  otlp_grpc/b: { endpoint: 'collector.example:4317' }
processors:
  llm_redaction: { patterns: [{ name: email, regex: '[a-z]+@[a-z]+\\.com' }] }
`;
  assert.deepEqual([...secretValuesOf(text, {})], []);
});
