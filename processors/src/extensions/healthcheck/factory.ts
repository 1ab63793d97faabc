import { createServer, type Server } from 'node:http';
import type { ExtensionFactory, FieldError } from '../../component/factory.ts';
import { parseHostPort } from '../../config/schema-helpers.ts';

export interface HealthCheckConfig {
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

/**
 * `health_check` on 13133, answering like the Collector's: 200 with `Server available` once every
 * component started, 503 while starting, reloading into a broken state, or shutting down.
 */
export const healthCheckFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: 'extension',
  type: 'health_check',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      endpoint: { type: 'string', default: 'localhost:13133' },
      path: { type: 'string', pattern: '^/', default: '/' },
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    const hp = parseHostPort('endpoint', String(block.endpoint ?? 'localhost:13133'), errors);
    return errors.length > 0 ? errors : { ...hp, path: String(block.path ?? '/') };
  },
  create(set, cfg, status) {
    let server: Server | undefined;
    return {
      async start() {
        server = createServer((req, res) => {
          if ((req.url ?? '/').split('?')[0] !== cfg.path) {
            res.writeHead(404).end();
            return;
          }
          const s = status();
          const uptimeS = Math.round((Date.now() - s.since.getTime()) / 1000);
          res.writeHead(s.ready ? 200 : 503, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              status: s.ready ? 'Server available' : 'Server not available',
              upSince: s.since.toISOString(),
              uptime: `${uptimeS}s`,
            }),
          );
        });
        const listening = server;
        // Not events.once(server, 'listening'): that also rejects on 'error', with the bare error, first.
        await new Promise<void>((resolve, reject) => {
          listening.once('listening', resolve);
          listening.once('error', (err) =>
            reject(new Error(`${set.id} cannot listen on ${cfg.host}:${cfg.port}: ${err.message}`)),
          );
          listening.listen(cfg.port, cfg.host);
        });
      },
      async shutdown() {
        const s = server;
        server = undefined;
        if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      },
    };
  },
};
