import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../harness/cache.ts';

/** The chart under test and the repository's CRDs it must carry unchanged. */
export const chartDir = join(repoRoot, 'charts', 'llmobs');
export const repoCrdsDir = join(repoRoot, 'crds');
/** Where the chart keeps its copy of crds/: read by templates/crds.yaml, not helm's special crds/ folder. */
export const chartCrdsDir = join(chartDir, 'files', 'crds');
export const fixturesDir = join(import.meta.dirname, 'fixtures');

export type Values = { [key: string]: unknown };

export function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readYaml(path: string): unknown {
  return yaml.load(readFileSync(path, 'utf8'));
}

/** The chart's ci/*-values.yaml scenario files, as absolute paths, sorted. */
export function ciValuesFiles(): string[] {
  const ci = join(chartDir, 'ci');
  return readdirSync(ci)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => join(ci, f));
}

/** `*.yaml` file names of a folder, sorted. */
export function yamlNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

/**
 * Helm's coalescing of a user values file over the chart's defaults: maps merge key by key, anything
 * else (lists, scalars) replaces, and null deletes the default.
 */
export function mergeValues(defaults: Values, user: Values): Values {
  const out: Values = { ...defaults };
  for (const [k, v] of Object.entries(user)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k], v);
    else out[k] = v;
  }
  return out;
}

/** Every path of a values tree: `a`, `a.b`, … (maps are descended, lists and scalars are leaves). */
export function valuePaths(v: Values, prefix = ''): string[] {
  return Object.entries(v).flatMap(([k, child]) => {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    return isMap(child) && Object.keys(child).length > 0 ? [path, ...valuePaths(child, path)] : [path];
  });
}
