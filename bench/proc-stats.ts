import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Readers of /proc for the numbers the benchmark reports; Linux only. */

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream Linux). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time (user + system, all threads) the process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / clockTicksPerSecond();
}

/** Executable name of a process (`comm`), to check that a wrapper such as taskset exec'd its command. */
export function processName(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

export interface Memory {
  /** Peak resident set size over the process's life (VmHWM), bytes. */
  readonly peakRssBytes: number;
  /** Current resident set size (VmRSS), bytes. */
  readonly rssBytes: number;
  readonly threads: number;
}

function statusField(status: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(status);
  if (!m?.[1]) throw new Error(`no ${name} in /proc status`);
  return m[1].trim();
}

const kib = (v: string) => Number(v.replace(/\s*kB$/, '')) * 1024;

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    peakRssBytes: kib(statusField(status, 'VmHWM')),
    rssBytes: kib(statusField(status, 'VmRSS')),
    threads: Number(statusField(status, 'Threads')),
  };
}

/** CPUs the process may run on, as /proc shows them (e.g. `1` or `0-1`). */
export function cpusAllowed(pid: number | 'self'): string {
  return statusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'Cpus_allowed_list');
}

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly memTotalGiB: number;
  readonly kernel: string;
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cpus = cpuinfo.split('\n').filter((l) => l.startsWith('processor')).length;
  const memTotal = kib(statusField(readFileSync('/proc/meminfo', 'utf8'), 'MemTotal'));
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { cpus, model, memTotalGiB: memTotal / 1024 ** 3, kernel };
}

/** Busy and total time of every CPU so far (from /proc/stat), seconds. */
export function cpuTimes(): { busy: number; total: number }[] {
  const hz = clockTicksPerSecond();
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      // user nice system idle iowait irq softirq steal ...
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      const idle = (v[3] ?? 0) + (v[4] ?? 0);
      const total = v.slice(0, 8).reduce((n, x) => n + x, 0);
      return { busy: (total - idle) / hz, total: total / hz };
    });
}

/**
 * Resets the process's peak RSS (VmHWM) to its current RSS (`5` into /proc/<pid>/clear_refs, Linux
 * 4.0+), so the next read gives the peak of one phase. False when the kernel or permissions refuse.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
