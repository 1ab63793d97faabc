import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The operator as a child process whose output goes straight to a file. The harness's ManagedProcess
 * pipes output through the parent, and the operator logs each admission synchronously: a benchmark
 * process busy sending pods would then hold the operator up on a full pipe, which is not the operator's
 * latency.
 */
export class OperatorProcess {
  readonly logFile: string;
  readonly #child: ChildProcess;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor(command: string, args: readonly string[], logFile: string) {
    this.logFile = logFile;
    const fd = openSync(logFile, 'a');
    this.#child = spawn(command, [...args], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.#exit = new Promise((resolve) => {
      this.#child.on('exit', () => {
        this.#exited = true;
        resolve();
      });
      this.#child.on('error', () => {
        this.#exited = true;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  async waitUntil(ready: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#exited) throw new Error(`the operator exited before ${what}:\n${this.tail()}`);
      if (await ready().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`the operator: timed out waiting for ${what}:\n${this.tail()}`);
  }

  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exit;
    clearTimeout(timer);
  }
}
