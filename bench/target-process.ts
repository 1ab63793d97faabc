import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../test/harness/cache.ts';
import { freePorts } from '../test/harness/ports.ts';
import { httpOk, ManagedProcess } from '../test/harness/process.ts';
import { goTool } from '../test/harness/tools.ts';
import { processName } from './proc-stats.ts';
import type { TargetKind } from './targets.ts';

/** The loopback ports a target listens on, free when it starts. */
export interface TargetPorts {
  readonly grpc: number;
  readonly http: number;
  readonly health: number;
  readonly metrics: number;
  readonly prometheus: number;
}

export interface LaunchOptions {
  readonly kind: TargetKind;
  readonly dir: string;
  readonly name: string;
  /** `taskset -c` list, or undefined to leave the target unpinned. */
  readonly cpus: string | undefined;
  /** For `ours`: write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfileDir?: string;
  /** The target's config on the ports it is given. */
  config(ports: TargetPorts): unknown;
}

export interface LaunchedTarget {
  readonly pid: number;
  readonly ports: TargetPorts;
  readonly configPath: string;
  readonly process: ManagedProcess;
}

/**
 * Starts a target (the llmobs processor, or the Collector built by the harness) on its config, pinned
 * with taskset when told, and waits for its health_check. A port taken between choosing it and binding
 * it is retried on fresh ports, twice.
 */
export async function launchTarget(o: LaunchOptions): Promise<LaunchedTarget> {
  const otelcol = o.kind === 'collector' ? await goTool('otelcol') : undefined;
  for (let attempt = 1; ; attempt++) {
    const [grpc, http, health, metrics, prometheus] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const ports: TargetPorts = { grpc, http, health, metrics, prometheus };
    const configPath = join(o.dir, `${o.name}.yaml`);
    writeFileSync(configPath, yaml.dump(o.config(ports), { noRefs: true, lineWidth: -1 }));
    const command = otelcol
      ? [otelcol, `--config=${configPath}`]
      : [
          process.execPath,
          ...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []),
          join(repoRoot, 'processors', 'src', 'main.ts'),
          '--config',
          configPath,
          '--no-watch',
        ];
    // taskset execs its command, so the child's pid is the target's own (checked below).
    const [cmd, ...args] = o.cpus ? ['taskset', '-c', o.cpus, ...command] : command;
    const proc = ManagedProcess.start({ name: o.name, logDir: o.dir, command: cmd as string, args });
    try {
      await proc.waitUntil(
        () => httpOk(`http://127.0.0.1:${health}/`),
        'health_check to report ready',
        30_000,
      );
    } catch (err) {
      await proc.stop();
      if (attempt < 3 && /address already in use|EADDRINUSE/.test(proc.tail(20))) continue;
      throw err;
    }
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${o.name} has no pid`);
    if (processName(pid) === 'taskset') throw new Error(`${o.name}: taskset did not exec its command`);
    return { pid, ports, configPath, process: proc };
  }
}
