/**
 * A forced full garbage collection in another Node process through its inspector (started with
 * `--inspect=127.0.0.1:<port>`), so a memory reading counts what is retained, not garbage the collector
 * has not reached yet: RSS alone swings by hundreds of MiB with the V8 heap's growth under load.
 */
export interface HeapReading {
  /** process.memoryUsage().heapUsed after the collection, bytes. */
  readonly heapUsedBytes: number;
  /** process.memoryUsage().rss after the collection, bytes. */
  readonly rssBytes: number;
}

interface Reply {
  readonly id?: number;
  readonly result?: { readonly result?: { readonly value?: unknown } };
  readonly error?: { readonly message: string };
}

export async function collectGarbage(inspectPort: number): Promise<HeapReading> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  let nextId = 0;
  const pending = new Map<number, (r: Reply) => void>();
  ws.addEventListener('message', (ev) => {
    const reply = JSON.parse(String(ev.data)) as Reply;
    if (reply.id !== undefined) pending.get(reply.id)?.(reply);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, (r) => (r.error ? reject(new Error(`${method}: ${r.error.message}`)) : resolve(r)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Twice: objects freed by the first collection's finalizers go in the second.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(String(r.result?.result?.value)) as { heapUsed: number; rss: number };
    return { heapUsedBytes: usage.heapUsed, rssBytes: usage.rss };
  } finally {
    ws.close();
  }
}
