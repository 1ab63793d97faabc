import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartOptions {
  /** Shown in errors and used for the log file's name. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Folder for the log file; a fresh temp folder when omitted. */
  readonly logDir?: string;
}

/**
 * A child process whose output goes to a log file, so a failing test can show the component's own
 * last words instead of a bare timeout. Stopping is SIGTERM, then SIGKILL after a grace period.
 */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exited: Promise<void>;

  private constructor(opts: StartOptions, logFile: string) {
    this.name = opts.name;
    this.logFile = logFile;
    // Append: a restarted component keeps its earlier output in the same log.
    const log = createWriteStream(logFile, { flags: 'a' });
    this.#child = spawn(opts.command, [...opts.args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout?.pipe(log, { end: false });
    this.#child.stderr?.pipe(log, { end: false });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve();
      });
      this.#child.on('error', (err) => {
        log.write(`\n[harness] could not start ${opts.command}: ${err.message}\n`);
        this.#exit = { code: -1, signal: null };
        resolve();
      });
    });
    void this.#exited.then(() => log.end());
  }

  static start(opts: StartOptions): ManagedProcess {
    const dir = opts.logDir ?? mkdtempSync(join(tmpdir(), `llmobs-${basename(opts.name)}-`));
    return new ManagedProcess(opts, join(dir, `${opts.name}.log`));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** How the process ended: its exit code, or the signal that killed it; undefined while it runs. */
  get exitStatus(): { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined {
    return this.#exit;
  }

  /** Resolves once the process has exited, however that came about. */
  exited(): Promise<void> {
    return this.#exited;
  }

  /** The last `lines` lines of the component's output. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Polls `ready` until it returns true; fails early, with the log's tail, if the process exits. */
  async waitUntil(ready: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.#exit)}) before ${what}; log ${this.logFile}:\n${this.tail()}`,
        );
      }
      try {
        if (await ready()) return;
      } catch {
        // not ready yet
      }
      await sleep(100);
    }
    throw new Error(
      `${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; log ${this.logFile}:\n${this.tail()}`,
    );
  }

  /** Sends `signal` and returns at once (e.g. SIGKILL to simulate a crash); see `exited()`. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Safe to call more than once. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** True when GET `url` answers 2xx. */
export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.ok;
}
