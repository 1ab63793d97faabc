import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('make demo’s flow runs end to end: both clients’ LLM calls reach Jaeger through the processor', async () => {
  const { stdout } = await run(process.execPath, [join(import.meta.dirname, 'demo.ts'), '--once'], {
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const service of ['support-bot-python', 'support-bot-node']) {
    const line = stdout.split('\n').find((l) => l.trimStart().startsWith(service));
    assert.ok(line, `Jaeger shows a span of ${service}:\n${stdout}`);
    assert.match(line, /input_tokens=\d+ output_tokens=\d+/);
  }
  assert.equal(stdout.match(/ Running 10\.244\./g)?.length, 2, `two pods running on kwok:\n${stdout}`);
  const prompt = stdout.split('\n').find((l) => l.includes('prompt as stored'));
  assert.ok(prompt, `the captured prompt is shown:\n${stdout}`);
  assert.match(prompt, /<EMAIL>.*<CREDIT_CARD>/);
  assert.doesNotMatch(prompt, /jane\.doe@example\.com|4111 1111 1111 1111/);
  assert.match(stdout, /demo complete/);
});
