import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls, { connect, type SecureVersion } from 'node:tls';
import { Registry } from 'prom-client';
import { ensureWebhookCertificate, MemorySecretStore, type WebhookCertificate } from './certs.ts';
import { MemoryEventRecorder } from './events.ts';
import { InMemoryConfigSource } from './podmutation/config.ts';
import { settings } from './podmutation/testdata.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';

// Node's own defaults (TLS 1.2, OpenSSL security level 1) already refuse TLS 1.1, which would hide a server
// that sets no minimum of its own. The loosest defaults make the webhook's own setting the only guard.
tls.DEFAULT_MIN_VERSION = 'TLSv1';
tls.DEFAULT_CIPHERS = `${tls.DEFAULT_CIPHERS}:@SECLEVEL=0`;

/** The protocol a handshake capped at `maxVersion` settles on, or the error that ended it. */
function handshake(port: number, maxVersion: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      minVersion: 'TLSv1',
      maxVersion,
      ciphers: 'DEFAULT@SECLEVEL=0',
      rejectUnauthorized: false,
    });
    s.once('secureConnect', () => {
      resolve(s.getProtocol() ?? 'unknown');
      s.destroy();
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

async function certificate(): Promise<WebhookCertificate> {
  const { certificate } = await ensureWebhookCertificate(new MemorySecretStore(), {
    secretNamespace: 'x',
    secretName: 'y',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  return certificate;
}

describe('the webhook serves TLS 1.2 and 1.3 only', () => {
  let cert: WebhookCertificate;
  let server: WebhookServer;

  before(async () => {
    cert = await certificate();
    server = await startWebhookServer({
      configSource: new InMemoryConfigSource([]),
      namespaces: { get: () => ({}) },
      settings,
      events: new MemoryEventRecorder(),
      registry: new Registry(),
      tls: cert,
      host: '127.0.0.1',
    });
  });
  after(() => server.stop());

  test('a server without a minimum of its own accepts TLS 1.1 here, so the refusals below are the webhook’s', async () => {
    const plain = createServer({ cert: cert.certPem, key: cert.keyPem });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    try {
      assert.equal(await handshake((plain.address() as AddressInfo).port, 'TLSv1.1'), 'TLSv1.1');
    } finally {
      plain.close();
    }
  });

  test('refuses TLS 1.0 and 1.1 handshakes, accepts TLS 1.2 and 1.3', async () => {
    assert.match(await handshake(server.port, 'TLSv1'), /^refused/);
    assert.match(await handshake(server.port, 'TLSv1.1'), /^refused/);
    assert.equal(await handshake(server.port, 'TLSv1.2'), 'TLSv1.2');
    assert.equal(await handshake(server.port, 'TLSv1.3'), 'TLSv1.3');
  });

  test('keeps the minimum after a certificate rotation', async () => {
    server.setCertificate(await certificate());
    assert.match(await handshake(server.port, 'TLSv1.1'), /^refused/);
    assert.equal(await handshake(server.port, 'TLSv1.3'), 'TLSv1.3');
  });
});
