import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import {
  type CertificateAuthority,
  type CertKeyPair,
  createCA,
  issueCert,
} from '../../../test/harness/pki.ts';
import { CertDirError, CertDirWatcher, certificateNames, readCertDir } from './certdir.ts';
import { MemoryEventRecorder } from './events.ts';
import { InMemoryConfigSource } from './podmutation/config.ts';
import { settings } from './podmutation/testdata.ts';
import { type InjectionWebhook, startInjectionWebhook } from './start.ts';

const SERVICE_NAME = 'llmobs-webhook.llmobs-system.svc';

/**
 * A folder laid out as the kubelet mounts a Secret: tls.crt and tls.key are symlinks through `..data` to a
 * timestamped folder, and an update writes a new folder and swaps `..data` atomically (a rename).
 */
class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'llmobs-certdir-'));
  #n = 0;

  write(files: Record<string, string>): void {
    const version = `..${Date.now()}_${++this.#n}`;
    mkdirSync(join(this.dir, version));
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(this.dir, version, name), content);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // Already linked through ..data.
      }
    }
  }

  tls(pair: CertKeyPair): void {
    this.write({ 'tls.crt': pair.certPem, 'tls.key': pair.keyPem });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The certificate a TLS server at 127.0.0.1:port presents, as PEM-free fingerprint, trusting `ca`. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: SERVICE_NAME }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

async function eventually(what: string, cond: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let first: CertKeyPair;
let second: CertKeyPair;
before(async () => {
  [ca, otherCa] = await Promise.all([createCA('corp-webhook-ca'), createCA('another-ca')]);
  const serving = { commonName: SERVICE_NAME, dnsNames: [SERVICE_NAME], usage: 'server' } as const;
  [first, second] = await Promise.all([issueCert(ca, serving), issueCert(ca, serving)]);
});

describe('readCertDir', () => {
  const volume = new SecretVolume();
  after(() => volume.remove());

  test('reads a certificate and its key, with its expiry and DNS names', async () => {
    volume.tls(first);
    const c = await readCertDir(volume.dir);
    assert.equal(c.certPem, first.certPem);
    assert.equal(c.keyPem, first.keyPem);
    assert.deepEqual(c.dnsNames, [SERVICE_NAME]);
    assert.equal(c.notAfter.getTime(), new X509Certificate(first.certPem).validToDate.getTime());
    assert.equal(certificateNames(c, SERVICE_NAME), true);
    assert.equal(certificateNames(c, 'llmobs-webhook.other.svc'), false);
  });

  test('refuses, naming the file, a missing key, a key of another certificate and a file that is no certificate', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'llmobs-certdir-'));
    try {
      writeFileSync(join(empty, 'tls.crt'), first.certPem);
      await assert.rejects(readCertDir(empty), (err: Error) => {
        assert.ok(err instanceof CertDirError);
        assert.match(err.message, /cannot read .*tls\.key/);
        return true;
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    volume.write({ 'tls.crt': first.certPem, 'tls.key': second.keyPem });
    await assert.rejects(readCertDir(volume.dir), /tls\.key is not the key of the certificate in tls\.crt/);
    volume.write({ 'tls.crt': 'not a certificate', 'tls.key': first.keyPem });
    await assert.rejects(readCertDir(volume.dir), /tls\.crt holds no PEM certificate/);
    volume.write({ 'tls.crt': first.certPem, 'tls.key': 'not a key' });
    await assert.rejects(readCertDir(volume.dir), /tls\.key holds no PEM private key/);
  });
});

describe('CertDirWatcher', () => {
  test('reports a swapped Secret once, keeps the last good certificate through a bad update, and stops', async () => {
    const volume = new SecretVolume();
    volume.tls(first);
    const changes: string[] = [];
    const errors: string[] = [];
    const watcher = new CertDirWatcher({
      dir: volume.dir,
      intervalMs: 60_000, // change events only, unless check() is called
      onChange: (c) => changes.push(c.certPem),
      onError: (err) => errors.push((err as Error).message),
    });
    try {
      assert.equal((await watcher.start()).certPem, first.certPem);
      assert.equal(await watcher.check(), false, 'nothing changed');
      volume.tls(second);
      await eventually('the change to be reported', () => changes.length === 1);
      assert.deepEqual(changes, [second.certPem]);
      volume.write({ 'tls.crt': first.certPem, 'tls.key': second.keyPem });
      await eventually('the bad update to be reported', () => errors.length === 1);
      assert.equal(await watcher.check(), false);
      assert.equal(errors.length, 1, 'one report per distinct problem');
      assert.deepEqual(changes, [second.certPem], 'the bad pair is never served');
    } finally {
      watcher.stop();
      volume.remove();
    }
  });

  test('finds a change by polling alone', async () => {
    const volume = new SecretVolume();
    volume.tls(first);
    const changes: string[] = [];
    const watcher = new CertDirWatcher({
      dir: volume.dir,
      intervalMs: 50,
      onChange: (c) => changes.push(c.certPem),
    });
    try {
      await watcher.start();
      // Overwritten in place (no rename in the folder itself), as a hand-edited folder would be.
      writeFileSync(join(volume.dir, '..data', 'tls.crt'), second.certPem);
      writeFileSync(join(volume.dir, '..data', 'tls.key'), second.keyPem);
      await eventually('the poll to find it', () => changes.length === 1);
    } finally {
      watcher.stop();
      volume.remove();
    }
  });
});

describe('startInjectionWebhook with a certificate directory (--webhook-cert-dir)', () => {
  const volume = new SecretVolume();
  let webhook: InjectionWebhook;
  // An apiserver nobody listens on: any call to the cluster (a Secret, a webhook configuration) would fail.
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });

  before(async () => {
    volume.tls(first);
    webhook = await startInjectionWebhook({
      kc,
      configSource: new InMemoryConfigSource([]),
      settings,
      registry: new Registry(),
      namespaces: { get: () => ({}) },
      events: new MemoryEventRecorder(),
      certificate: { secretNamespace: 'llmobs-system', secretName: 'unused', dnsNames: [SERVICE_NAME] },
      certDir: { dir: volume.dir, dialedName: SERVICE_NAME, checkIntervalMs: 60_000 },
      webhook: { name: 'llmobs', service: { namespace: 'llmobs-system', name: 'llmobs-webhook' } },
      host: '127.0.0.1',
      port: 0,
    });
  });
  after(async () => {
    await webhook?.stop();
    volume.remove();
  });

  test('serves the mounted certificate without touching the cluster, and manages no certificate of its own', async () => {
    assert.equal(await servedFingerprint(webhook.server.port, ca.certPem), fingerprint(first.certPem));
    assert.equal(webhook.certificates, undefined);
    assert.ok(webhook.certDir);
  });

  test('serves a rotated Secret to new connections, and keeps serving it through an unusable update', async () => {
    volume.tls(second);
    await eventually(
      'the new certificate to be served',
      async () => (await servedFingerprint(webhook.server.port, ca.certPem)) === fingerprint(second.certPem),
    );
    // A pair that does not match (a half-written update) is not served.
    const stranger = await issueCert(otherCa, {
      commonName: SERVICE_NAME,
      dnsNames: [SERVICE_NAME],
      usage: 'server',
    });
    volume.write({ 'tls.crt': stranger.certPem, 'tls.key': first.keyPem });
    assert.equal(await webhook.certDir?.check(), false);
    assert.equal(await servedFingerprint(webhook.server.port, ca.certPem), fingerprint(second.certPem));
    // A new CA too, once the files make sense: whoever fills caBundle must have published it first.
    volume.tls(stranger);
    await eventually(
      'the certificate of the new CA to be served',
      async () =>
        (await servedFingerprint(webhook.server.port, otherCa.certPem).catch(() => '')) ===
        fingerprint(stranger.certPem),
    );
  });

  test('refuses to start on a directory without a usable certificate, naming the file', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'llmobs-certdir-'));
    try {
      await assert.rejects(
        startInjectionWebhook({
          kc,
          configSource: new InMemoryConfigSource([]),
          settings,
          registry: new Registry(),
          namespaces: { get: () => ({}) },
          events: new MemoryEventRecorder(),
          certificate: { secretNamespace: 'llmobs-system', secretName: 'unused', dnsNames: [SERVICE_NAME] },
          certDir: { dir: empty, dialedName: SERVICE_NAME },
          webhook: { name: 'llmobs', service: { namespace: 'llmobs-system', name: 'llmobs-webhook' } },
          host: '127.0.0.1',
          port: 0,
        }),
        /cannot read .*tls\.crt/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
