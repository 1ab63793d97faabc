// A chat endpoint on the plain `openai` SDK, with no OpenTelemetry code in it.
//
//   POST /chat {"message": "..."}  ->  {"reply": "..."}
//   GET  /healthz                  ->  ok
//
// The llmobs webhook makes it observable from the outside: the NODE_OPTIONS it injects (`--import` of the
// instrumentation bundle) starts the OpenTelemetry SDK and the GenAI instrumentation of `openai` before this
// module is loaded.
//
// Environment: OPENAI_BASE_URL and OPENAI_API_KEY (read by the openai SDK), CHAT_MODEL (gpt-4o-mini),
// HOST (0.0.0.0), PORT (3000).
import { createServer } from 'node:http';
import OpenAI from 'openai';

const model = process.env.CHAT_MODEL || 'gpt-4o-mini';
const client = new OpenAI({ maxRetries: 1, timeout: 30_000 });
const system = 'You are a friendly shop assistant. Keep answers short.';

/** Reads a JSON request body (at most 64 KiB). */
async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65_536) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function send(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

const server = createServer(async (req, res) => {
  // The request line only: messages may hold personal data and stay out of the logs.
  res.on('finish', () => console.log(`chat-app: ${req.method} ${req.url} -> ${res.statusCode}`));
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, 'ok');
  if (req.method !== 'POST' || req.url !== '/chat') return send(res, 404, { error: 'not found' });
  let message;
  try {
    message = String((await readJson(req)).message ?? '');
    if (message === '') throw new Error('empty message');
  } catch {
    return send(res, 400, { error: 'expected {"message": "..."}' });
  }
  try {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: message },
      ],
    });
    return send(res, 200, { reply: completion.choices[0]?.message.content ?? '' });
  } catch (err) {
    return send(res, 502, { error: err instanceof Error ? err.message : String(err) });
  }
});

server.listen(Number(process.env.PORT || 3000), process.env.HOST || '0.0.0.0', () => {
  const { address, port } = server.address();
  console.log(`chat-app: listening on ${address}:${port}`);
});
// Kubernetes stops a pod with SIGTERM: stop accepting requests and let the in-flight ones finish.
process.on('SIGTERM', () => server.close());
