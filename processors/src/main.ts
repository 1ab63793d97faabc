#!/usr/bin/env node
// llmobs-processor: an OpenTelemetry Collector-style OTLP processor for LLM telemetry.
//   llmobs-processor [--config FILE] [--shutdown-timeout 15s]
//   llmobs-processor validate --config FILE
//   llmobs-processor prices import --format litellm|genai-prices --source-url URL FILE...
//   llmobs-processor eval calibrate --config FILE --labels FILE.jsonl
import { parseArgs } from 'node:util';
import { loadConfigFile, loadConfigText } from './config/load.ts';
import { parseDuration } from './config/units.ts';
import { runPricesImport } from './pricing/import-cli.ts';
import { runCalibrate } from './processors/evaluation/calibrate.ts';
import { DEFAULT_CONFIG_YAML } from './service/default-config.ts';
import { defaultRegistry } from './service/registry.ts';
import { ConfigError, Runner } from './service/runner.ts';

const USAGE = `usage:
  llmobs-processor [--config FILE] [--shutdown-timeout DURATION] [--no-watch]
  llmobs-processor validate [--config FILE]
  llmobs-processor prices import --format litellm|genai-prices --source-url URL FILE... > catalogue.yaml
  llmobs-processor eval calibrate --config FILE --labels FILE.jsonl [--processor ID] [--json]

Runs the embedded default configuration when --config is not given.`;

async function main(argv: string[]): Promise<number> {
  // The price importer has its own flags (it converts catalogues and never runs a pipeline).
  if (argv[0] === 'prices') return runPricesImport(argv);
  if (argv[0] === 'eval' && argv[1] === 'calibrate') return runCalibrate(argv);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'shutdown-timeout': { type: 'string', default: '15s' },
        'no-watch': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = values.config as string | undefined;
  const command = positionals[0] ?? 'run';

  if (command === 'validate') {
    const result = config
      ? loadConfigFile(config, defaultRegistry())
      : loadConfigText(DEFAULT_CONFIG_YAML, defaultRegistry());
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    if (result.errors.length > 0) {
      process.stderr.write(`${config ?? 'default config'} is invalid:\n  ${result.errors.join('\n  ')}\n`);
      return 1;
    }
    process.stdout.write(`${config ?? 'default config'} is valid\n`);
    return 0;
  }
  if (command !== 'run') {
    process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }

  const shutdownMs = parseDuration(String(values['shutdown-timeout']));
  if (shutdownMs === undefined) {
    process.stderr.write(`invalid --shutdown-timeout "${String(values['shutdown-timeout'])}"\n`);
    return 2;
  }
  const runner = new Runner({
    ...(config ? { configPath: config } : {}),
    defaultYaml: DEFAULT_CONFIG_YAML,
    watch: !values['no-watch'],
  });
  try {
    await runner.start();
  } catch (err) {
    if (err instanceof ConfigError) runner.logger.fatal({ problems: err.problems }, 'invalid configuration');
    else runner.logger.fatal({ err }, 'cannot start');
    runner.logger.flush();
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  runner.logger.info({ signal, timeoutMs: shutdownMs }, 'shutting down, draining queues');
  await runner.shutdown(Date.now() + shutdownMs);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
