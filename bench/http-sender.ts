import { Agent, request } from 'node:http';

/** Sends one body; `done` gets the response's status (or `error` with a message when none came) once it is fully read. */
export type Sender = (body: Buffer, done: (status: string, ok: boolean, error?: string) => void) => void;

export interface SenderHandle {
  readonly send: Sender;
  close(): void;
}

/** OTLP/HTTP protobuf POSTs to `url` over at most `sockets` keep-alive connections; 200 is ok. */
export function httpSender(url: string, sockets: number, timeoutMs: number): SenderHandle {
  const u = new URL(url);
  // FIFO reuse cycles through every open connection, so none sits idle until the server's keep-alive
  // timeout (5 s in Node) closes it just as a request is written to it ("socket hang up").
  const agent = new Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
    scheduling: 'fifo',
  });
  const send: Sender = (body, done) => {
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => done(String(res.statusCode ?? 0), res.statusCode === 200));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => done('error', false, err.message));
    req.end(body);
  };
  return { send, close: () => agent.destroy() };
}
