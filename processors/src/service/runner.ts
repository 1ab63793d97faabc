import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, dirname } from 'node:path';
import { type Logger, pino } from 'pino';
import type { ServiceStatus } from '../component/factory.ts';
import { loadConfigText } from '../config/load.ts';
import type { ServiceConfig } from '../config/validate.ts';
import { SecretScrubber } from '../telemetry/secret-scrubber.ts';
import { secretValuesOf } from '../telemetry/secret-values.ts';
import { SelfTelemetry } from '../telemetry/self-telemetry.ts';
import { defaultRegistry, type Registry } from './registry.ts';
import { Service } from './service.ts';

export interface RunnerOptions {
  /** Path of the config file; undefined runs `defaultYaml`. */
  readonly configPath?: string;
  readonly defaultYaml: string;
  readonly registry?: Registry;
  readonly env?: NodeJS.ProcessEnv;
  /** Where logs go (JSON lines); stderr by default. */
  readonly logDestination?: NodeJS.WritableStream;
  /** Watch the config file and apply changes (how a mounted ConfigMap update reaches the process). */
  readonly watch?: boolean;
  readonly processMetrics?: boolean;
}

/** Thrown by `start` when the configuration is invalid; carries every problem. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/**
 * Owns the process-level pieces that survive reloads (logger, self-telemetry, /metrics server) and
 * the current Service. A changed config file is validated first; a bad one is rejected, logged and
 * counted while the running service carries on.
 */
export class Runner {
  readonly telemetry: SelfTelemetry;
  readonly logger: Logger;
  readonly #o: RunnerOptions;
  readonly #registry: Registry;
  readonly #scrubber = new SecretScrubber();
  #service: Service | undefined;
  #config: ServiceConfig | undefined;
  #ready = false;
  readonly #since = new Date();
  #metricsServer: Server | undefined;
  #watcher: FSWatcher | undefined;
  #lastHash = '';
  #reloading: Promise<void> = Promise.resolve();
  #debounce: NodeJS.Timeout | undefined;

  constructor(o: RunnerOptions) {
    this.#o = o;
    this.#registry = o.registry ?? defaultRegistry();
    this.telemetry = new SelfTelemetry({ processMetrics: o.processMetrics ?? true });
    this.logger = pino(
      {
        base: { service: 'llmobs-processor' },
        timestamp: pino.stdTimeFunctions.isoTime,
        // Level names, not pino's numbers: what log pipelines built for the Collector expect.
        formatters: { level: (label) => ({ level: label }) },
        // Credentials of the config never reach the log, whichever field or error message quotes them.
        hooks: { streamWrite: this.#scrubber.scrub },
      },
      (o.logDestination ?? process.stderr) as pino.DestinationStream,
    );
  }

  status = (): ServiceStatus => ({ ready: this.#ready, since: this.#since });

  get metricsAddress(): { host: string; port: number } | undefined {
    const a = this.#metricsServer?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  #readConfig(): { text: string; hash: string } {
    const text = this.#o.configPath ? readFileSync(this.#o.configPath, 'utf8') : this.#o.defaultYaml;
    return { text, hash: createHash('sha256').update(text).digest('hex') };
  }

  #load(text: string): ServiceConfig {
    this.#scrubber.add(secretValuesOf(text, this.#o.env ?? process.env));
    const { config, errors, warnings } = loadConfigText(text, this.#registry, this.#o.env ?? process.env);
    for (const w of warnings) this.logger.warn(w);
    if (!config) throw new ConfigError(errors);
    return config;
  }

  async start(): Promise<void> {
    const { text, hash } = this.#readConfig();
    const config = this.#load(text);
    this.logger.level = config.logLevel;
    this.#lastHash = hash;
    await this.#startMetrics(config);
    const service = new Service(config, this.logger, this.telemetry, this.status);
    try {
      await service.start();
    } catch (err) {
      // A listening /metrics server would keep the process alive, not ready and not exiting.
      await this.#stopMetrics();
      throw err;
    }
    this.#service = service;
    this.#config = config;
    this.#ready = true;
    this.logger.info(
      { config: this.#o.configPath ?? '(embedded default)' },
      'everything is ready, begin running and processing data',
    );
    if (this.#o.watch && this.#o.configPath) this.#watch(this.#o.configPath);
  }

  async #startMetrics(config: ServiceConfig): Promise<void> {
    if (!config.metrics) return;
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.telemetry.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': this.telemetry.registry.contentType }).end(body))
        .catch((err: Error) => res.writeHead(500).end(err.message));
    });
    const { host, port } = config.metrics;
    // Not events.once(server, 'listening'): that also rejects on 'error', with the bare error, first.
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err) =>
        reject(new Error(`cannot serve metrics on ${host}:${port}: ${err.message}`)),
      );
      server.listen(port, host);
    });
    this.#metricsServer = server;
  }

  async #stopMetrics(): Promise<void> {
    const m = this.#metricsServer;
    this.#metricsServer = undefined;
    if (m) {
      m.closeAllConnections();
      await new Promise<void>((resolve) => m.close(() => resolve()));
    }
  }

  #watch(path: string): void {
    // Watch the folder: a ConfigMap volume swaps a symlink rather than writing the file.
    this.#watcher = watch(dirname(path), () => {
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        this.#reloading = this.#reloading.then(() => this.reload());
      }, 200);
    });
    this.#watcher.on('error', (err) =>
      this.logger.error({ err, file: basename(path) }, 'config watch failed'),
    );
  }

  /** Re-reads the config; applies it if valid and changed. Never throws. */
  async reload(): Promise<void> {
    let text: string;
    let hash: string;
    try {
      ({ text, hash } = this.#readConfig());
    } catch (err) {
      this.telemetry.reloads.inc({ result: 'rejected' });
      this.logger.error(
        { err },
        'config reload rejected: cannot read the file; keeping the running configuration',
      );
      return;
    }
    if (hash === this.#lastHash) return;
    let next: ServiceConfig;
    try {
      next = this.#load(text);
    } catch (err) {
      this.#lastHash = hash;
      this.telemetry.reloads.inc({ result: 'rejected' });
      this.logger.error(
        { problems: err instanceof ConfigError ? err.problems : [String(err)] },
        'config reload rejected; keeping the running configuration',
      );
      return;
    }
    const old = this.#service;
    const oldConfig = this.#config;
    const deadline = Date.now() + 10_000;
    this.#ready = false;
    await old?.shutdownListeners(deadline);
    const fresh = new Service(next, this.logger, this.telemetry, this.status);
    try {
      await fresh.start();
    } catch (err) {
      this.telemetry.reloads.inc({ result: 'rejected' });
      this.#lastHash = hash;
      this.logger.error({ err }, 'new configuration failed to start; restoring the previous one');
      if (oldConfig) {
        const restored = new Service(oldConfig, this.logger, this.telemetry, this.status);
        await restored.start();
        this.#service = restored;
      }
      this.#ready = true;
      void old?.shutdown(deadline);
      return;
    }
    this.#service = fresh;
    this.#config = next;
    this.#lastHash = hash;
    this.#ready = true;
    this.logger.level = next.logLevel;
    this.telemetry.reloads.inc({ result: 'applied' });
    this.logger.info('configuration reloaded');
    // The old exporters drain what they hold in the background.
    void old?.shutdown(deadline);
  }

  /** Graceful stop: listeners first, queues drained until `deadline`, then the metrics server. */
  async shutdown(deadline: number): Promise<void> {
    this.#ready = false;
    this.#watcher?.close();
    clearTimeout(this.#debounce);
    await this.#reloading;
    await this.#service?.shutdown(deadline);
    await this.#stopMetrics();
    this.logger.info('shutdown complete');
    this.logger.flush();
  }
}
