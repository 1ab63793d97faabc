/**
 * Test-only: direct access to the etcd behind a harness control plane, for what the apiserver cannot
 * do for a test — change objects while the apiserver is down, and compact history to provoke a real
 * 410 Gone. The harness exposes neither etcd's address nor the apiserver's pid, so both are read
 * from /proc: the processes whose --data-dir / --cert-dir lie in the control plane's folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ControlPlane } from '../../../test/harness/control-plane.ts';

export interface EtcdDirect {
  readonly url: string;
  /** The raw value stored at `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** The current revision (= the apiserver's latest resourceVersion). */
  revision(): Promise<number>;
  /** Compacts away every revision before `revision`. */
  compact(revision: number): Promise<void>;
}

/** Command lines of live processes that have `arg` among their arguments, by pid. */
export function processesWithArg(arg: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.includes(arg)) found.set(Number(pid), args);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** The pid of the control plane's running kube-apiserver. */
export function apiServerPid(cp: ControlPlane): number {
  const [pid] = processesWithArg(`--cert-dir=${cp.dir}/pki`).keys();
  if (pid === undefined) throw new Error('no kube-apiserver process for this control plane');
  return pid;
}

export function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

function etcdUrl(cp: ControlPlane): string {
  const dataDir = `--data-dir=${cp.dir}/etcd-data`;
  for (const args of processesWithArg(dataDir).values()) {
    const listen = args.find((a) => a.startsWith('--listen-client-urls='));
    if (listen !== undefined) return listen.slice('--listen-client-urls='.length).split(',')[0] as string;
  }
  throw new Error(`no etcd process with ${dataDir}`);
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export function etcdDirect(cp: ControlPlane): EtcdDirect {
  const url = etcdUrl(cp);
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    url,
    async get(key) {
      const res = (await call('kv/range', { key: b64(key) })) as { kvs?: Array<{ value?: string }> };
      const value = res.kvs?.[0]?.value;
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    },
    async put(key, value) {
      await call('kv/put', { key: b64(key), value: b64(value) });
    },
    async delete(key) {
      await call('kv/deleterange', { key: b64(key) });
    },
    async revision() {
      const res = (await call('kv/range', { key: b64('/'), limit: 1 })) as { header: { revision: string } };
      return Number(res.header.revision);
    },
    async compact(revision) {
      await call('kv/compaction', { revision: String(revision), physical: true });
    },
  };
}
