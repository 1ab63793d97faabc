import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import type { Registry } from '../service/registry.ts';
import { ConfigTooLargeError, expandTree } from './expand.ts';
import { orderWarnings } from './order.ts';
import { type ServiceConfig, validateConfig } from './validate.ts';

export interface LoadedConfig {
  readonly config?: ServiceConfig;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** Parses YAML text, expands `${env:VAR}` in values and validates; never throws on bad input. */
export function loadConfigText(
  text: string,
  registry: Registry,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let parsed: unknown;
  try {
    parsed = yaml.load(text);
  } catch (err) {
    return { errors: [`config: invalid YAML: ${(err as Error).message.split('\n')[0]}`], warnings: [] };
  }
  const unset = new Set<string>();
  let expanded: unknown;
  try {
    expanded = expandTree(parsed, env, unset);
  } catch (err) {
    if (!(err instanceof ConfigTooLargeError)) throw err;
    return { errors: [`config: ${err.message}`], warnings: [] };
  }
  const warnings = [...unset].map((v) => `environment variable ${v} is not set; using an empty value`);
  const { config, errors } = validateConfig(expanded, registry);
  if (config) warnings.push(...orderWarnings(config.pipelines));
  return config ? { config, errors, warnings } : { errors, warnings };
}

export function loadConfigFile(
  path: string,
  registry: Registry,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { errors: [`config: cannot read ${path}: ${(err as Error).message}`], warnings: [] };
  }
  return loadConfigText(text, registry, env);
}
