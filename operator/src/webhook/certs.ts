import 'reflect-metadata';
import { createPrivateKey, X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { ApiException, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 is typed against the DOM's Crypto, which Node's webcrypto implements.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 86_400_000;
/** Back-dating, so a fresh certificate is valid for a peer whose clock is a little behind. */
const SKEW_MS = 5 * 60_000;

/** Keys of the Secret (type kubernetes.io/tls). */
export const SECRET_KEYS = {
  cert: 'tls.crt',
  key: 'tls.key',
  ca: 'ca.crt',
  caKey: 'ca.key',
  /** The current CA, then the previous one while it is still valid: what caBundle must hold. */
  caBundle: 'ca-bundle.crt',
} as const;

export interface CertificateSettings {
  readonly secretNamespace: string;
  readonly secretName: string;
  /** Names the apiserver dials: the Service's DNS names (serviceDnsNames), plus any extra. */
  readonly dnsNames: readonly string[];
  /** E.g. 127.0.0.1 when the apiserver calls the webhook by URL on the same machine (tests). */
  readonly ipAddresses?: readonly string[];
  /** Default 3650. */
  readonly caValidityDays?: number;
  /** Default 365. */
  readonly certValidityDays?: number;
  readonly now?: () => Date;
}

/** The DNS names of a Service as the apiserver may dial it. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export interface WebhookCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  /** PEM bundle for the webhook configurations' caBundle (base64 it there). */
  readonly caBundlePem: string;
  readonly notAfter: Date;
}

export type CertificateAction = 'created' | 'reused' | 'rotated-certificate' | 'rotated-ca';

export class SecretConflictError extends Error {
  readonly code = 'ERR_WEBHOOK_SECRET_CONFLICT';
}

/** The Secret operations certificate management needs; create and replace throw SecretConflictError on 409. */
export interface SecretStore {
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<V1Secret>;
  replace(secret: V1Secret): Promise<V1Secret>;
}

function apiCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export class KubeSecretStore implements SecretStore {
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (apiCode(err) === 404) return undefined;
      throw err;
    }
  }

  async create(secret: V1Secret): Promise<V1Secret> {
    try {
      return await this.#core.createNamespacedSecret({
        namespace: secret.metadata?.namespace ?? '',
        body: secret,
      });
    } catch (err) {
      if (apiCode(err) === 409)
        throw new SecretConflictError('the Secret was created concurrently', { cause: err });
      throw err;
    }
  }

  async replace(secret: V1Secret): Promise<V1Secret> {
    try {
      return await this.#core.replaceNamespacedSecret({
        namespace: secret.metadata?.namespace ?? '',
        name: secret.metadata?.name ?? '',
        body: secret,
      });
    } catch (err) {
      if (apiCode(err) === 409)
        throw new SecretConflictError('the Secret changed concurrently', { cause: err });
      throw err;
    }
  }
}

/** An in-memory SecretStore with resourceVersion checks, for tests. */
export class MemorySecretStore implements SecretStore {
  readonly secrets = new Map<string, V1Secret>();
  #version = 0;

  async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    const s = this.secrets.get(`${namespace}/${name}`);
    return s ? structuredClone(s) : undefined;
  }

  async create(secret: V1Secret): Promise<V1Secret> {
    const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
    if (this.secrets.has(key)) throw new SecretConflictError('exists');
    return this.#store(key, secret);
  }

  async replace(secret: V1Secret): Promise<V1Secret> {
    const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
    if (this.secrets.get(key)?.metadata?.resourceVersion !== secret.metadata?.resourceVersion) {
      throw new SecretConflictError('stale resourceVersion');
    }
    return this.#store(key, secret);
  }

  #store(key: string, secret: V1Secret): V1Secret {
    const stored = {
      ...structuredClone(secret),
      metadata: { ...secret.metadata, resourceVersion: String(++this.#version) },
    };
    this.secrets.set(key, stored);
    return structuredClone(stored);
  }
}

interface Material {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly caBundlePem: string;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

async function createCA(now: Date, days: number): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(now.getTime() - SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=llmobs-webhook-ca-${now.getTime()}, O=llmobs`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

async function issueServing(
  ca: { certPem: string; keyPem: string },
  s: CertificateSettings,
  now: Date,
): Promise<{ certPem: string; keyPem: string }> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.keyPem),
    ALG,
    false,
    ['sign'],
  );
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(now.getTime() - SKEW_MS);
  const days = s.certValidityDays ?? 365;
  // Never outlive the CA that signs it.
  const notAfter = new Date(Math.min(notBefore.getTime() + days * DAY_MS, caCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${s.dnsNames[0] ?? 'llmobs-webhook'}, O=llmobs`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      new x509.SubjectAlternativeNameExtension(
        [
          ...s.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...(s.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
        ],
        false,
      ),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** Whether more than a third of the certificate's lifetime is left at `now`. */
export function fresh(cert: NodeX509, now: Date): boolean {
  const from = cert.validFromDate.getTime();
  const to = cert.validToDate.getTime();
  return now.getTime() >= from - SKEW_MS && to - now.getTime() > (to - from) / 3;
}

function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function stillValid(pem: string, now: Date): boolean {
  try {
    return new NodeX509(pem).validToDate.getTime() > now.getTime();
  } catch {
    return false;
  }
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

type Verdict =
  | { kind: 'reuse'; material: Material }
  | { kind: 'leaf'; ca: { certPem: string; keyPem: string }; bundle: string[]; why: string }
  | { kind: 'ca'; previousCa?: string; why: string };

/** Reads a Secret's material and decides what must be regenerated. */
function judge(secret: V1Secret | undefined, s: CertificateSettings, now: Date): Verdict {
  const data = secret?.data;
  const caPem = decode(data, SECRET_KEYS.ca);
  const caKeyPem = decode(data, SECRET_KEYS.caKey);
  if (!caPem || !caKeyPem) return { kind: 'ca', why: secret ? 'the Secret has no CA' : 'no Secret yet' };
  let ca: NodeX509;
  try {
    ca = new NodeX509(caPem);
    if (!ca.ca || !ca.checkPrivateKey(createPrivateKey(caKeyPem)))
      return { kind: 'ca', why: 'the CA is unusable' };
  } catch {
    return { kind: 'ca', why: 'the CA does not parse' };
  }
  if (!fresh(ca, now))
    return { kind: 'ca', previousCa: caPem, why: 'the CA is in the last third of its lifetime' };

  const bundle = [
    caPem,
    ...splitPem(decode(data, SECRET_KEYS.caBundle) ?? '').filter((p) => p.trim() !== caPem.trim()),
  ]
    .filter((p) => stillValid(p, now))
    .slice(0, 2);
  const leaf = (why: string): Verdict => ({
    kind: 'leaf',
    ca: { certPem: caPem, keyPem: caKeyPem },
    bundle,
    why,
  });
  const certPem = decode(data, SECRET_KEYS.cert);
  const keyPem = decode(data, SECRET_KEYS.key);
  if (!certPem || !keyPem) return leaf('the Secret has no serving certificate');
  try {
    const cert = new NodeX509(certPem);
    if (!cert.verify(ca.publicKey)) return leaf('the serving certificate is not signed by the CA');
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return leaf('the serving key does not match');
    const missing = [
      ...s.dnsNames.filter((n) => cert.checkHost(n, { subject: 'never', wildcards: false }) === undefined),
      ...(s.ipAddresses ?? []).filter((ip) => cert.checkIP(ip) === undefined),
    ];
    if (missing.length > 0) return leaf(`the serving certificate lacks ${missing.join(', ')}`);
    if (!fresh(cert, now)) return leaf('the serving certificate is in the last third of its lifetime');
  } catch {
    return leaf('the serving certificate does not parse');
  }
  return { kind: 'reuse', material: { certPem, keyPem, caPem, caKeyPem, caBundlePem: bundle.join('\n') } };
}

function toCertificate(m: Material): WebhookCertificate {
  return {
    certPem: m.certPem,
    keyPem: m.keyPem,
    caPem: m.caPem,
    caBundlePem: m.caBundlePem,
    notAfter: new NodeX509(m.certPem).validToDate,
  };
}

function secretOf(m: Material, s: CertificateSettings, previous: V1Secret | undefined): V1Secret {
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...(previous?.metadata ?? {}),
      name: s.secretName,
      namespace: s.secretNamespace,
      labels: {
        ...previous?.metadata?.labels,
        'app.kubernetes.io/part-of': 'llmobs',
        'app.kubernetes.io/component': 'webhook',
      },
    },
    type: 'kubernetes.io/tls',
    data: {
      [SECRET_KEYS.cert]: b64(m.certPem),
      [SECRET_KEYS.key]: b64(m.keyPem),
      [SECRET_KEYS.ca]: b64(m.caPem),
      [SECRET_KEYS.caKey]: b64(m.caKeyPem),
      [SECRET_KEYS.caBundle]: b64(m.caBundlePem),
    },
  };
}

/**
 * Makes sure the Secret holds a CA and a serving certificate for the webhook, and returns them.
 * Reuses them while more than a third of their lifetime is left; otherwise issues a new serving
 * certificate, or a new CA (kept in the bundle with the previous CA while that one is valid, so
 * apiservers that still hold the old caBundle keep trusting the old certificate). Safe to run from
 * several replicas at once: a concurrent write makes it re-read and adopt the winner's.
 */
export async function ensureWebhookCertificate(
  store: SecretStore,
  s: CertificateSettings,
): Promise<{ certificate: WebhookCertificate; action: CertificateAction; why?: string }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = (s.now ?? (() => new Date()))();
    const secret = await store.read(s.secretNamespace, s.secretName);
    const verdict = judge(secret, s, now);
    if (verdict.kind === 'reuse') return { certificate: toCertificate(verdict.material), action: 'reused' };

    let material: Material;
    let action: CertificateAction;
    if (verdict.kind === 'ca') {
      const ca = await createCA(now, s.caValidityDays ?? 3650);
      const leaf = await issueServing(ca, s, now);
      const bundle = [
        ca.certPem,
        ...(verdict.previousCa && stillValid(verdict.previousCa, now) ? [verdict.previousCa] : []),
      ];
      material = { ...leaf, caPem: ca.certPem, caKeyPem: ca.keyPem, caBundlePem: bundle.join('\n') };
      action = secret ? 'rotated-ca' : 'created';
    } else {
      const leaf = await issueServing(verdict.ca, s, now);
      material = {
        ...leaf,
        caPem: verdict.ca.certPem,
        caKeyPem: verdict.ca.keyPem,
        caBundlePem: verdict.bundle.join('\n'),
      };
      action = 'rotated-certificate';
    }
    try {
      const body = secretOf(material, s, secret);
      if (secret) await store.replace(body);
      else await store.create(body);
      return { certificate: toCertificate(material), action, why: verdict.why };
    } catch (err) {
      if (!(err instanceof SecretConflictError)) throw err;
      // Another replica wrote first: read again and take theirs.
    }
  }
  throw new Error(`could not settle Secret ${s.secretNamespace}/${s.secretName} after 5 concurrent updates`);
}

export interface CertificateManagerOptions {
  /**
   * Called with new material (first ensure, a rotation, or another replica's rotation). Order the
   * effects as the rotation needs: publish caBundle first, then serve the new certificate.
   */
  readonly onChange: (c: WebhookCertificate, action: CertificateAction) => Promise<void> | void;
  /** A periodic check that failed (the next one retries). */
  readonly onError?: (err: unknown) => void;
}

/** Runs ensureWebhookCertificate now and then periodically; reports material that changed. */
export class WebhookCertificateManager {
  readonly #store: SecretStore;
  readonly #settings: CertificateSettings;
  readonly #o: CertificateManagerOptions;
  #timer: NodeJS.Timeout | undefined;
  #current: string | undefined;
  #running: Promise<WebhookCertificate> | undefined;

  constructor(store: SecretStore, settings: CertificateSettings, o: CertificateManagerOptions) {
    this.#store = store;
    this.#settings = settings;
    this.#o = o;
  }

  /** Ensures once (concurrent calls share the run) and calls onChange if the material changed. */
  ensure(): Promise<WebhookCertificate> {
    this.#running ??= (async () => {
      try {
        const { certificate, action } = await ensureWebhookCertificate(this.#store, this.#settings);
        const id = certificate.certPem + certificate.caBundlePem;
        if (id !== this.#current) {
          await this.#o.onChange(certificate, action);
          this.#current = id;
        }
        return certificate;
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Checks every `intervalMs` (default 1 h) until stop(). */
  start(intervalMs = 3_600_000): void {
    this.stop();
    this.#timer = setInterval(() => {
      this.ensure().catch((err: unknown) => this.#o.onError?.(err));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
