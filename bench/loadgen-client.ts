import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from '../test/harness/cache.ts';
import type { LoadMessage, LoadRequest, LoadResult } from './loadgen.ts';

type RunSpec =
  | {
      readonly mode: 'closed';
      readonly url: string;
      readonly concurrency: number;
      readonly durationMs: number;
    }
  | {
      readonly mode: 'open';
      readonly url: string;
      readonly ratePerSecond: number;
      readonly durationMs: number;
    };

/** The benchmark's handle on the load generator process (bench/loadgen.ts), driven over IPC. */
export class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: LoadResult) => void>();
  #nextId = 1;
  readonly spansPerBody: readonly number[];
  readonly idsPerBody: readonly number[];

  private constructor(child: ChildProcess, spansPerBody: readonly number[], idsPerBody: readonly number[]) {
    this.#child = child;
    this.spansPerBody = spansPerBody;
    this.idsPerBody = idsPerBody;
    child.on('message', (m: LoadMessage) => {
      if (m.type !== 'result') return;
      this.#pending.get(m.id)?.(m.result);
      this.#pending.delete(m.id);
    });
  }

  /** `placeholder`: overwrite it with a distinct id in every send (see loadgen.ts). */
  static async start(payloadPath: string, placeholder?: string): Promise<LoadGenerator> {
    const args = placeholder === undefined ? [payloadPath] : [payloadPath, placeholder];
    const child = fork(join(repoRoot, 'bench', 'loadgen.ts'), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<LoadMessage>((resolve, reject) => {
      child.once('message', (m: LoadMessage) => resolve(m));
      child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
    });
    const m = await ready;
    if (m.type !== 'ready') throw new Error(`load generator said ${m.type} before ready`);
    return new LoadGenerator(child, m.spansPerBody, m.idsPerBody);
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error('load generator has no pid');
    return this.#child.pid;
  }

  /** Runs one phase; rejects if the generator does not answer within the phase plus a minute. */
  run(spec: RunSpec): Promise<LoadResult> {
    const id = this.#nextId++;
    const msg: LoadRequest = { type: 'run', id, ...spec };
    return new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`load generator gave no result for ${spec.mode} run ${id}`));
      }, spec.durationMs + 60_000);
      this.#pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#child.send(msg);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.send({ type: 'exit' } satisfies LoadRequest);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
