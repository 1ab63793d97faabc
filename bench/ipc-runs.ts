// A forked process that does timed runs on request, over the IPC channel: it says `ready` (with what
// it loaded), answers each `run` with a `result` carrying the run's id, and disconnects on `exit`.
// Both load generators (bench/loadgen.ts, bench/pipeline/loadgen.ts) speak it.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';

/** What the parent reads of a run's spec: its mode (to name it) and its length (to bound the wait). */
export interface RunSpecBase {
  readonly mode: string;
  readonly durationMs: number;
}

export type RunRequest<Spec> =
  | (Spec & { readonly type: 'run'; readonly id: number })
  | { readonly type: 'exit' };

export type RunMessage<Ready, Result> =
  | (Ready & { readonly type: 'ready' })
  | { readonly type: 'result'; readonly id: number; readonly result: Result };

/** The child's side: answers every run with `run`'s result, after saying `ready`. */
export function serveRuns<Spec, Ready, Result>(
  ready: Ready,
  run: (spec: Spec & { readonly type: 'run'; readonly id: number }) => Promise<Result>,
): void {
  // A run still in flight when the parent said exit has no one left to answer.
  const reply = (m: RunMessage<Ready, Result>) => {
    if (process.connected) process.send?.(m);
  };
  process.on('message', (m: RunRequest<Spec>) => {
    if (m.type === 'exit') {
      process.disconnect?.();
      return;
    }
    void run(m).then((result) => reply({ type: 'result', id: m.id, result }));
  });
  reply({ ...ready, type: 'ready' });
}

/** The parent's side: the forked process's handle. */
export class RunWorker<Spec extends RunSpecBase, Ready, Result> {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (r: Result) => void>();
  #nextId = 1;
  /** What the child said it loaded. */
  readonly ready: Ready;

  private constructor(child: ChildProcess, ready: Ready) {
    this.#child = child;
    this.ready = ready;
    child.on('message', (m: RunMessage<Ready, Result>) => {
      if (m.type !== 'result') return;
      this.#pending.get(m.id)?.(m.result);
      this.#pending.delete(m.id);
    });
  }

  /** Forks `script` with `args` (its output inherited) and waits for its `ready`. */
  static async start<S extends RunSpecBase, R, T>(
    script: string,
    args: readonly string[],
  ): Promise<RunWorker<S, R, T>> {
    const child = fork(script, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const m = await new Promise<RunMessage<R, T>>((resolve, reject) => {
      child.once('message', (msg: RunMessage<R, T>) => resolve(msg));
      child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
    });
    if (m.type !== 'ready') throw new Error(`load generator said ${m.type} before ready`);
    return new RunWorker<S, R, T>(child, m);
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error('load generator has no pid');
    return this.#child.pid;
  }

  /** Runs one phase; rejects if the child does not answer within the phase plus a minute. */
  run(spec: Spec): Promise<Result> {
    const id = this.#nextId++;
    const msg: RunRequest<Spec> = { ...spec, type: 'run', id };
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`load generator gave no result for ${spec.mode} run ${id}`));
      }, spec.durationMs + 60_000);
      this.#pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      // With a callback, a closed channel (the child stopped by a signal's cleanup while a phase was
      // starting) rejects this run instead of an 'error' event that would end the benchmark uncleaned.
      this.#child.send(msg, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.send({ type: 'exit' } satisfies RunRequest<Spec>);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
