import { join } from 'node:path';
import { repoRoot } from '../test/harness/cache.ts';
import { RunWorker } from './ipc-runs.ts';
import type { LoadReady, LoadResult, LoadRunSpec } from './loadgen.ts';

/** The benchmark's handle on the load generator process (bench/loadgen.ts), driven over IPC; `ready` says what it loaded. */
export type LoadGenerator = RunWorker<LoadRunSpec, LoadReady, LoadResult>;

export const LoadGenerator = {
  /** `placeholder`: overwrite it with a distinct id in every send (see loadgen.ts). */
  start(payloadPath: string, placeholder?: string): Promise<LoadGenerator> {
    const args = placeholder === undefined ? [payloadPath] : [payloadPath, placeholder];
    return RunWorker.start(join(repoRoot, 'bench', 'loadgen.ts'), args);
  },
};
