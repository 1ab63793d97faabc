import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { repoRoot } from '../harness/cache.ts';
import {
  PROCESSOR_MAIN,
  processorConfig,
  type RunningProcessor,
  startProcessor,
} from '../harness/llmobs-processor.ts';
import { freePorts } from '../harness/ports.ts';

const run = promisify(execFile);

/** Every spelling of a secret that would still give it away: as written, base64, hex. */
function spellings(secret: string): string[] {
  const b = Buffer.from(secret);
  return [secret, b.toString('base64'), b.toString('hex')];
}

function assertNoSecret(text: string, secrets: readonly string[], where: string): void {
  for (const s of secrets)
    for (const form of spellings(s))
      assert.ok(!text.includes(form), `${where} contains a secret (${form.slice(0, 6)}…)`);
}

/** A backend that refuses every export and, like some proxies, quotes the credentials it was sent. */
async function startEchoingBackend(): Promise<{ url: string; requests: number; server: Server }> {
  const state = { url: '', requests: 0, server: createServer() };
  state.server.on('request', (req, res) => {
    state.requests++;
    req.resume();
    res
      .writeHead(401, { 'content-type': 'text/plain' })
      .end(`invalid api-key "${req.headers['api-key']}" for "${req.headers.authorization}" at ${req.url}`);
  });
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

/** One OTLP/JSON span whose attribute the redaction processor hashes with the HMAC key. */
function traceBody(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'secrets-test' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: randomBytes(16).toString('hex'),
                spanId: randomBytes(8).toString('hex'),
                name: 'chat gpt-4o',
                kind: 3,
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 1_000_000n),
                attributes: [{ key: 'user.email', value: { stringValue: 'alice@example.com' } }],
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('the processor never prints its secrets', () => {
  const exporterKey = `sk-live-${randomBytes(24).toString('hex')}`;
  const bearer = `tok-${randomBytes(24).toString('hex')}`;
  const hmacKey = randomBytes(32).toString('hex');
  const urlPassword = `pw-${randomBytes(24).toString('hex')}`;
  const queryKey = `qk-${randomBytes(24).toString('hex')}`;
  const secrets = [exporterKey, bearer, hmacKey, urlPassword, queryKey];
  const env = {
    LLMOBS_TEST_EXPORTER_KEY: exporterKey,
    LLMOBS_TEST_BEARER: bearer,
    LLMOBS_TEST_URL_PASSWORD: urlPassword,
  };
  let dir: string;
  let keyFile: string;
  let backend: Awaited<ReturnType<typeof startEchoingBackend>>;
  let closedGrpc: string;
  let proc: RunningProcessor;

  const config = (extra: Record<string, unknown> = {}) =>
    processorConfig({
      logLevel: 'debug',
      processors: {
        llm_redaction: { action: 'hash', hmac: { key_file: keyFile, key_id: 'k1' } },
      },
      exporters: {
        'otlp_http/echo': {
          endpoint: backend.url,
          encoding: 'json',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax
          headers: { 'api-key': '${env:LLMOBS_TEST_EXPORTER_KEY}' },
          retry_on_failure: { enabled: false },
        },
        'otlp_grpc/closed': {
          endpoint: closedGrpc,
          tls: { insecure: true },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax
          headers: { authorization: 'Bearer ${env:LLMOBS_TEST_BEARER}' },
          retry_on_failure: { enabled: true, initial_interval: '50ms', max_elapsed_time: '300ms' },
        },
        // Credentials in the URL itself: the exporter's error quotes the URL, the backend the Basic header.
        'otlp_http/userinfo': {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax
          traces_endpoint: `${backend.url.replace('://', '://llmobs:${env:LLMOBS_TEST_URL_PASSWORD}@')}/v1/traces?api_key=${queryKey}`,
          encoding: 'json',
          retry_on_failure: { enabled: false },
        },
        ...extra,
      },
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmobs-secrets-'));
    keyFile = join(dir, 'hmac.key');
    writeFileSync(keyFile, `${hmacKey}\n`, { mode: 0o600 });
    backend = await startEchoingBackend();
    const [port] = await freePorts(1);
    closedGrpc = `127.0.0.1:${port}`;
    proc = await startProcessor({ config: config(), env, name: 'secrets' });
  });

  after(async () => {
    await proc?.stop();
    backend?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('at debug level, through failed exports, a rejected reload and an applied one: not in the log or /metrics', async () => {
    const res = await fetch(`${proc.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: traceBody(),
    });
    assert.equal(res.status, 200, await res.text());
    await proc.waitForLog(
      (l) => l.msg === 'dropping data' && JSON.stringify(l).includes('otlp_http/echo'),
      'the echo exporter to drop its batch',
    );
    await proc.waitForLog(
      (l) => l.msg === 'dropping data' && JSON.stringify(l).includes('otlp_grpc/closed'),
      'the gRPC exporter to give up',
    );
    await proc.waitForLog(
      (l) => l.msg === 'dropping data' && JSON.stringify(l).includes('otlp_http/userinfo'),
      'the exporter with credentials in its URL to drop its batch',
    );
    assert.ok(backend.requests > 0, 'the backend was called with the header');

    // Invalid: an unknown key beside the secret headers.
    await proc.rewriteConfig(
      config({ 'otlp_http/bad': { endpoint: backend.url, no_such_key: exporterKey } }),
    );
    await proc.waitForLog((l) => l.msg.startsWith('config reload rejected'), 'the bad reload to be rejected');
    await proc.rewriteConfig(
      config({ 'otlp_http/second': { endpoint: backend.url, headers: { 'x-key': exporterKey } } }),
    );
    await proc.waitForLog((l) => l.msg === 'configuration reloaded', 'the good reload to be applied');

    const log = readFileSync(proc.logFile, 'utf8');
    assert.ok(log.includes('"level":"debug"'), 'debug lines were written');
    assert.ok(log.includes('[REDACTED]'), 'the echoed key was replaced, not dropped silently');
    assertNoSecret(log, secrets, 'the processor log');
    assertNoSecret(await proc.metricsText(), secrets, '/metrics');
  });

  test('validate and a failed start print problems, not secrets', async () => {
    const file = join(dir, 'invalid.yaml');
    // An unknown key holding the secret, and a header that is not a string (the value is the key again).
    const bad = yaml.load(proc.configText) as Record<string, unknown>;
    bad.exporters = {
      'otlp_http/bad': {
        endpoint: backend.url,
        unknown_field: exporterKey,
        headers: { 'api-key': [bearer] },
      },
    };
    bad.service = { pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp_http/bad'] } } };
    writeFileSync(file, yaml.dump(bad));
    const outputs: string[] = [];
    for (const args of [
      ['validate', '--config', file],
      ['--config', file],
    ]) {
      const r = await run(process.execPath, [PROCESSOR_MAIN, ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...env },
      }).then(
        () => assert.fail(`${args.join(' ')} accepted an invalid config`),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      assert.equal(r.code, 1);
      assert.match(r.stdout + r.stderr, /unknown_field|must NOT have additional properties|not allowed/);
      outputs.push(r.stdout + r.stderr);
    }
    const good = join(dir, 'good.yaml');
    writeFileSync(good, proc.configText);
    const ok = await run(process.execPath, [PROCESSOR_MAIN, 'validate', '--config', good], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    });
    outputs.push(ok.stdout + ok.stderr);
    for (const o of outputs) assertNoSecret(o, secrets, 'CLI output');
  });
});
