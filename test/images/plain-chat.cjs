// The CommonJS twin of plain-chat.mjs (require('openai')), for the bundle's --require entry point.
const { OpenAI } = require('openai');

const client = new OpenAI({ baseURL: process.env.LLM_BASE_URL, apiKey: 'mock-key', maxRetries: 0 });
client.chat.completions
  .create({ model: 'mock-gpt', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
  .then((res) => {
    console.log(JSON.stringify({ content: res.choices[0]?.message.content, model: res.model }));
    setInterval(() => {}, 60_000);
  });
