import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goTool } from './tools.ts';

const run = promisify(execFile);

export interface HelmResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the harness's helm (built from Go modules, version-stamped) with its own cache, config and data
 * folders, so a developer's repositories and plugins never leak into a test. Rejects with helm's own
 * error output when it exits non-zero.
 */
export async function helm(args: readonly string[], opts: { kubeconfig?: string } = {}): Promise<HelmResult> {
  const bin = await goTool('helm');
  const home = mkdtempSync(join(tmpdir(), 'llmobs-helm-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  if (opts.kubeconfig) env.KUBECONFIG = opts.kubeconfig;
  try {
    return await run(bin, [...args], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err: unknown) {
    const e = err as { stderr?: string; code?: number };
    throw new Error(`helm ${args.join(' ')} failed (exit ${e.code}): ${e.stderr?.trim() ?? String(err)}`, {
      cause: err,
    });
  }
}
