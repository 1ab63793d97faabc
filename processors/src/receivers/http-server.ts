import type { Server } from 'node:http';

/** Starts `server` on host:port; rejects with a message naming the component when it cannot. */
export function listen(server: Server, host: string, port: number, what: string): Promise<void> {
  // Not events.once(server, 'listening'): that also rejects on 'error', with the bare error, first.
  return new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err) =>
      reject(new Error(`${what} cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host);
  });
}

/** Stops listening; requests in flight may finish until `deadline` (epoch ms), then connections are cut. */
export function close(server: Server, deadline: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // Without this, one client holding a connection open would hold up a reload or the exit for good.
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(deadline - Date.now(), 0));
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
