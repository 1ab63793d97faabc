import { join } from 'node:path';
import { repoRoot } from '../../test/harness/cache.ts';
import { RunWorker } from '../ipc-runs.ts';
import type { PipelineLoadReady, PipelineLoadResult, PipelineRunSpec } from './loadgen.ts';

export type { PipelineRunSpec } from './loadgen.ts';

/** The pipeline benchmark's handle on its load generator process (bench/pipeline/loadgen.ts); `ready` says what it loaded. */
export type PipelineLoadGenerator = RunWorker<PipelineRunSpec, PipelineLoadReady, PipelineLoadResult>;

export const PipelineLoadGenerator = {
  start(payloadPath: string): Promise<PipelineLoadGenerator> {
    return RunWorker.start(join(repoRoot, 'bench', 'pipeline', 'loadgen.ts'), [payloadPath]);
  },
};
