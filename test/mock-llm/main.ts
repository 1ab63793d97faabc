import { parseArgs } from 'node:util';
import { startMockLlm } from './server.ts';

// Standalone mode for poking at the mock by hand or pointing a demo client at it:
//   node test/mock-llm/main.ts --port 8080
const { values } = parseArgs({ options: { port: { type: 'string', short: 'p' } } });
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`mock-llm: invalid --port ${values.port}`);
  process.exit(2);
}
const mock = await startMockLlm({ port });
console.log(mock.url);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void mock.close().then(() => process.exit(0));
  });
}
