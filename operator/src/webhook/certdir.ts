import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsMaterial } from './server.ts';

/**
 * Serving the webhooks from a certificate someone else issues and rotates: a kubernetes.io/tls Secret mounted
 * as a directory (cert-manager's, or the user's own; --webhook-cert-dir). The operator only reads it: it
 * writes no Secret and no caBundle, and picks up a new certificate when the files change.
 */

/** The files read from the directory (the keys of a kubernetes.io/tls Secret). */
export const CERT_DIR_FILES = { cert: 'tls.crt', key: 'tls.key' } as const;

export interface DirCertificate extends TlsMaterial {
  /** Expiry of the leaf (first) certificate of tls.crt. */
  readonly notAfter: Date;
  /** Its DNS subject alternative names. */
  readonly dnsNames: readonly string[];
}

export class CertDirError extends Error {
  readonly code = 'ERR_WEBHOOK_CERT_DIR';
}

function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
}

/**
 * Reads tls.crt and tls.key from `dir` and checks that they are a certificate and its key. Throws a
 * CertDirError naming the file and the problem otherwise.
 */
export async function readCertDir(dir: string): Promise<DirCertificate> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (err) {
      throw new CertDirError(`cannot read ${join(dir, name)}: ${(err as Error).message}`, { cause: err });
    }
  };
  // One after the other, so a directory missing both is reported by its certificate, every time.
  const certPem = await read(CERT_DIR_FILES.cert);
  const keyPem = await read(CERT_DIR_FILES.key);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CertDirError(`${join(dir, CERT_DIR_FILES.cert)} holds no PEM certificate`, { cause: err });
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new CertDirError(`${join(dir, CERT_DIR_FILES.key)} holds no PEM private key`, { cause: err });
  }
  if (!matches)
    throw new CertDirError(
      `${join(dir, CERT_DIR_FILES.key)} is not the key of the certificate in ${CERT_DIR_FILES.cert}`,
    );
  return { certPem, keyPem, notAfter: cert.validToDate, dnsNames: dnsNamesOf(cert) };
}

/** Whether the certificate names `host` (a DNS name or an IP address), as the apiserver checks it. */
export function certificateNames(c: TlsMaterial, host: string): boolean {
  const cert = new X509Certificate(c.certPem);
  return /^[0-9.]+$|:/.test(host)
    ? cert.checkIP(host) !== undefined
    : cert.checkHost(host, { subject: 'never', wildcards: true }) !== undefined;
}

export interface CertDirWatcherOptions {
  readonly dir: string;
  /** A new, valid certificate was read: serve it. Not called for the first one (start() returns it). */
  readonly onChange: (c: DirCertificate) => void;
  /** The files changed but are unusable (the previous certificate stays in use), or cannot be read. */
  readonly onError?: (err: unknown) => void;
  /**
   * How often the files are read again (default 10 s), besides reacting to change events on the directory:
   * a mounted Secret is swapped atomically (a `..data` symlink), which fs.watch does not always report.
   */
  readonly intervalMs?: number;
}

/** Reads the directory once, then re-reads it on changes and every intervalMs until stop(). */
export class CertDirWatcher {
  readonly #o: CertDirWatcherOptions;
  #current: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #running: Promise<boolean> | undefined;
  #lastError: string | undefined;

  constructor(o: CertDirWatcherOptions) {
    this.#o = o;
  }

  /** The first read: throws (CertDirError) if the directory holds no usable certificate. */
  async start(): Promise<DirCertificate> {
    const first = await readCertDir(this.#o.dir);
    this.#current = first.certPem + first.keyPem;
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs ?? 10_000);
    this.#timer.unref();
    try {
      this.#watcher = watch(this.#o.dir, { persistent: false }, () => {
        // A Secret update is several renames in a row: read once they have settled.
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => void this.check(), 100);
        this.#debounce.unref();
      });
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // Polling alone then.
    }
    return first;
  }

  /** Reads the files now; calls onChange and returns true if they hold a new, valid certificate. */
  check(): Promise<boolean> {
    this.#running ??= (async () => {
      try {
        const c = await readCertDir(this.#o.dir);
        this.#lastError = undefined;
        const id = c.certPem + c.keyPem;
        if (id === this.#current) return false;
        this.#current = id;
        this.#o.onChange(c);
        return true;
      } catch (err) {
        // Reported once per distinct problem, not on every poll.
        const message = (err as Error).message;
        if (message !== this.#lastError) this.#o.onError?.(err);
        this.#lastError = message;
        return false;
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#timer = undefined;
    this.#watcher = undefined;
  }
}
