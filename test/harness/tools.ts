import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolsDir } from './cache.ts';

const run = promisify(execFile);

/** A component built from Go modules by tools/build.sh. */
export type GoTool =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'helm'
  | 'otelcol'
  | 'jaeger';

const resolved = new Map<string, Promise<string>>();

async function runTool(script: string, arg: string): Promise<string> {
  try {
    const { stdout } = await run(join(toolsDir, script), [arg], {
      maxBuffer: 16 * 1024 * 1024,
      env: process.env,
    });
    const path = stdout.trim().split('\n').pop();
    if (!path) throw new Error(`${script} ${arg} printed no path`);
    return path;
  } catch (err: unknown) {
    // The scripts already reduce a failed build to one line on stderr; surface exactly that line.
    const stderr = (err as { stderr?: string }).stderr ?? '';
    const line = stderr
      .split('\n')
      .filter((l) => l.includes('failed'))
      .pop();
    throw new Error(line ?? `${script} ${arg} failed: ${String(err)}`, { cause: err });
  }
}

/** Path of a Go-built component's binary, building it into the cache on first use. */
export function goTool(name: GoTool): Promise<string> {
  const key = `go:${name}`;
  let p = resolved.get(key);
  if (!p) {
    p = runTool('build.sh', name);
    resolved.set(key, p);
  }
  return p;
}

/** Folder holding a Debian package's binaries (e.g. `prometheus`, `promtool`), unpacked into the cache. */
export function debianPackageBin(pkg: string): Promise<string> {
  const key = `deb:${pkg}`;
  let p = resolved.get(key);
  if (!p) {
    p = runTool('install-debian.sh', pkg);
    resolved.set(key, p);
  }
  return p;
}
