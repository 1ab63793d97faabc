import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Someone attached to a shared listener; `owner` says who, `state` is handed to a successor. */
interface Attachment {
  readonly owner: string;
  readonly state: unknown;
  readonly handler: Handler;
}

interface Shared {
  readonly server: Server;
  /** The newest attachment serves; older ones wait underneath until they detach. */
  readonly stack: Attachment[];
}

/**
 * Listeners by `host:port`, shared across Service instances. A hot reload starts the new exporters
 * before the old ones are shut down, so a `prometheus` exporter that keeps its endpoint must take
 * over the port its predecessor (same component id) still holds instead of failing with
 * EADDRINUSE. Another component id on the same endpoint is a configuration error, as in the
 * Collector.
 */
const listeners = new Map<string, Shared>();

export interface Lease {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: AddressInfo;
  /** The state the previous holder with the same owner left, if any. */
  readonly inherited: unknown;
  release(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Serves `handler` on host:port for `owner`. If that owner already listens there (a reload), the
 * new handler takes over at once and `inherited` is the state the current holder registered.
 */
export async function acquire(
  owner: string,
  host: string,
  port: number,
  handler: Handler,
  state: unknown,
): Promise<Lease> {
  // Port 0 asks for a fresh port each time: never shared.
  const key = port === 0 ? undefined : `${host}:${port}`;
  const existing = key === undefined ? undefined : listeners.get(key);
  let shared: Shared;
  let inherited: unknown;
  if (existing) {
    const top = existing.stack.at(-1);
    if (top && top.owner !== owner) {
      throw new Error(
        `${owner} cannot listen on ${host}:${port}: exporter ${top.owner} already serves there`,
      );
    }
    inherited = top?.state;
    shared = existing;
  } else {
    const stack: Attachment[] = [];
    const server = createServer((req, res) => {
      const active = stack.at(-1);
      if (active) active.handler(req, res);
      else res.writeHead(503).end();
    });
    try {
      await listen(server, host, port);
    } catch (err) {
      throw new Error(`${owner} cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    shared = { server, stack };
    if (key !== undefined) listeners.set(key, shared);
  }
  const mine: Attachment = { owner, state, handler };
  shared.stack.push(mine);
  let released = false;
  return {
    address: shared.server.address() as AddressInfo,
    inherited,
    async release() {
      if (released) return;
      released = true;
      const i = shared.stack.indexOf(mine);
      if (i >= 0) shared.stack.splice(i, 1);
      if (shared.stack.length > 0) return;
      if (key !== undefined && listeners.get(key) === shared) listeners.delete(key);
      await new Promise<void>((resolve) => {
        shared.server.close(() => resolve());
        // Scrapers keep connections alive; close() alone would wait for them.
        shared.server.closeAllConnections();
      });
    },
  };
}
