import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import {
  type CertificateSettings,
  ensureWebhookCertificate,
  MemorySecretStore,
  SECRET_KEYS,
  SecretConflictError,
  serviceDnsNames,
  WebhookCertificateManager,
} from './certs.ts';

const DAY = 86_400_000;
const T0 = new Date('2026-01-01T00:00:00Z');

function settings(now: Date, overrides: Partial<CertificateSettings> = {}): CertificateSettings {
  return {
    secretNamespace: 'llmobs-system',
    secretName: 'llmobs-webhook-tls',
    dnsNames: serviceDnsNames('llmobs-webhook', 'llmobs-system'),
    ipAddresses: ['127.0.0.1'],
    caValidityDays: 300,
    certValidityDays: 90,
    now: () => now,
    ...overrides,
  };
}

function data(secret: V1Secret | undefined, key: string): string {
  return Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');
}

describe('ensureWebhookCertificate', () => {
  test('creates a CA and a serving certificate for every service name and 127.0.0.1, stored in a TLS Secret', async () => {
    const store = new MemorySecretStore();
    const { certificate, action } = await ensureWebhookCertificate(store, settings(T0));
    assert.equal(action, 'created');
    const secret = await store.read('llmobs-system', 'llmobs-webhook-tls');
    assert.equal(secret?.type, 'kubernetes.io/tls');
    assert.equal(data(secret, SECRET_KEYS.cert), certificate.certPem);
    const cert = new X509Certificate(certificate.certPem);
    const ca = new X509Certificate(certificate.caPem);
    assert.ok(ca.ca);
    assert.ok(cert.verify(ca.publicKey));
    for (const n of serviceDnsNames('llmobs-webhook', 'llmobs-system'))
      assert.equal(cert.checkHost(n, { subject: 'never' }), n);
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(certificate.caBundlePem.trim(), certificate.caPem.trim());
  });

  test('reuses the stored certificate while more than a third of its lifetime is left', async () => {
    const store = new MemorySecretStore();
    const first = await ensureWebhookCertificate(store, settings(T0));
    const later = await ensureWebhookCertificate(store, settings(new Date(T0.getTime() + 59 * DAY)));
    assert.equal(later.action, 'reused');
    assert.equal(later.certificate.certPem, first.certificate.certPem);
  });

  test('rotates the serving certificate (same CA, same bundle) in the last third of its lifetime', async () => {
    const store = new MemorySecretStore();
    const first = await ensureWebhookCertificate(store, settings(T0));
    const later = await ensureWebhookCertificate(store, settings(new Date(T0.getTime() + 61 * DAY)));
    assert.equal(later.action, 'rotated-certificate');
    assert.notEqual(later.certificate.certPem, first.certificate.certPem);
    assert.equal(later.certificate.caPem, first.certificate.caPem);
    assert.equal(later.certificate.caBundlePem, first.certificate.caBundlePem);
  });

  test('rotates the CA in the last third of its lifetime, keeping the old one in the bundle', async () => {
    const store = new MemorySecretStore();
    const first = await ensureWebhookCertificate(store, settings(T0));
    const later = await ensureWebhookCertificate(store, settings(new Date(T0.getTime() + 201 * DAY)));
    assert.equal(later.action, 'rotated-ca');
    assert.notEqual(later.certificate.caPem, first.certificate.caPem);
    assert.ok(later.certificate.caBundlePem.startsWith(later.certificate.caPem.trim()));
    assert.ok(later.certificate.caBundlePem.includes(first.certificate.caPem.trim()));
    const cert = new X509Certificate(later.certificate.certPem);
    assert.ok(cert.verify(new X509Certificate(later.certificate.caPem).publicKey));
  });

  test('the serving certificate never outlives its CA', async () => {
    const { certificate } = await ensureWebhookCertificate(
      new MemorySecretStore(),
      settings(T0, { caValidityDays: 30, certValidityDays: 365 }),
    );
    assert.ok(certificate.notAfter.getTime() <= new X509Certificate(certificate.caPem).validToDate.getTime());
  });

  test('reissues the serving certificate when a required name is missing', async () => {
    const store = new MemorySecretStore();
    await ensureWebhookCertificate(store, settings(T0));
    const more = await ensureWebhookCertificate(store, settings(T0, { dnsNames: ['other.example'] }));
    assert.equal(more.action, 'rotated-certificate');
    assert.equal(
      new X509Certificate(more.certificate.certPem).checkHost('other.example', { subject: 'never' }),
      'other.example',
    );
  });

  test('starts over from a corrupted Secret', async () => {
    const store = new MemorySecretStore();
    await ensureWebhookCertificate(store, settings(T0));
    const s = await store.read('llmobs-system', 'llmobs-webhook-tls');
    if (s?.data) s.data[SECRET_KEYS.ca] = Buffer.from('garbage').toString('base64');
    if (s) await store.replace(s);
    const again = await ensureWebhookCertificate(store, settings(T0));
    assert.equal(again.action, 'rotated-ca');
  });

  test('adopts what a concurrent replica wrote instead of overwriting it', async () => {
    const store = new MemorySecretStore();
    const winner = new MemorySecretStore();
    const won = await ensureWebhookCertificate(winner, settings(T0));
    let raced = false;
    const racing = Object.assign(Object.create(store) as MemorySecretStore, {
      read: (ns: string, n: string) => (raced ? store.read(ns, n) : Promise.resolve(undefined)),
      create: async (s: V1Secret) => {
        if (!raced) {
          raced = true;
          await store.create((await winner.read('llmobs-system', 'llmobs-webhook-tls')) ?? s);
          throw new SecretConflictError('exists');
        }
        return store.create(s);
      },
      replace: (s: V1Secret) => store.replace(s),
    });
    const got = await ensureWebhookCertificate(racing, settings(T0));
    assert.equal(got.action, 'reused');
    assert.equal(got.certificate.certPem, won.certificate.certPem);
  });
});

describe('WebhookCertificateManager', () => {
  test('reports the material once, then again only when it changes', async () => {
    const store = new MemorySecretStore();
    let now = T0;
    const seen: string[] = [];
    const m = new WebhookCertificateManager(
      store,
      { ...settings(T0), now: () => now },
      {
        onChange: (_c, action) => {
          seen.push(action);
        },
      },
    );
    await m.ensure();
    await m.ensure();
    now = new Date(T0.getTime() + 61 * DAY);
    await m.ensure();
    assert.deepEqual(seen, ['created', 'rotated-certificate']);
  });
});
