import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from '../../test/harness/cache.ts';
import type { PipelineLoadMessage, PipelineLoadRequest, PipelineLoadResult, Protocol } from './loadgen.ts';

export type PipelineRunSpec = {
  readonly target: string;
  readonly protocol: Protocol;
  readonly durationMs: number;
} & (
  | { readonly mode: 'closed'; readonly concurrency: number }
  | { readonly mode: 'open'; readonly ratePerSecond: number }
);

/** The pipeline benchmark's handle on its load generator process (bench/pipeline/loadgen.ts). */
export class PipelineLoadGenerator {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: PipelineLoadResult) => void>();
  #nextId = 1;
  readonly spansPerBody: readonly number[];
  readonly bytesPerBody: readonly number[];

  private constructor(child: ChildProcess, ready: Extract<PipelineLoadMessage, { type: 'ready' }>) {
    this.#child = child;
    this.spansPerBody = ready.spansPerBody;
    this.bytesPerBody = ready.bytesPerBody;
    child.on('message', (m: PipelineLoadMessage) => {
      if (m.type !== 'result') return;
      this.#pending.get(m.id)?.(m.result);
      this.#pending.delete(m.id);
    });
  }

  static async start(payloadPath: string): Promise<PipelineLoadGenerator> {
    const child = fork(join(repoRoot, 'bench', 'pipeline', 'loadgen.ts'), [payloadPath], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const m = await new Promise<PipelineLoadMessage>((resolve, reject) => {
      child.once('message', (msg: PipelineLoadMessage) => resolve(msg));
      child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
    });
    if (m.type !== 'ready') throw new Error(`load generator said ${m.type} before ready`);
    return new PipelineLoadGenerator(child, m);
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error('load generator has no pid');
    return this.#child.pid;
  }

  /** Runs one phase; rejects if the generator does not answer within the phase plus a minute. */
  run(spec: PipelineRunSpec): Promise<PipelineLoadResult> {
    const id = this.#nextId++;
    const msg: PipelineLoadRequest = { type: 'run', id, ...spec };
    return new Promise<PipelineLoadResult>((resolve, reject) => {
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
    this.#child.send({ type: 'exit' } satisfies PipelineLoadRequest);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
