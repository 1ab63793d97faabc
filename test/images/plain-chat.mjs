// A plain openai app (ES module) with no OpenTelemetry code, for test/images/bundles.it.test.ts:
// `node test/images/plain-chat.mjs` with LLM_BASE_URL ending in /v1. Calls chat completions once, prints one
// JSON line, then stays up like a service until stopped. Any span comes from the bundle NODE_OPTIONS loads,
// which flushes it on SIGTERM.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.LLM_BASE_URL, apiKey: 'mock-key', maxRetries: 0 });
const res = await client.chat.completions.create({
  model: 'mock-gpt',
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
});
console.log(JSON.stringify({ content: res.choices[0]?.message.content, model: res.model }));
setInterval(() => {}, 60_000);
