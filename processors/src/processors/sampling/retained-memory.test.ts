import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import type { TracesRequest } from '../../otlp/model.ts';
import { rememberReceivedBytes } from '../../otlp/received-bytes.ts';
import { settings } from '../../testing/components.ts';
import { type SpanSpec, traces } from '../../testing/genai-spans.ts';
import { SamplingProcessor } from './processor.ts';
import { config, ids } from './testkit.ts';

// What the process really retains is read from V8 after full collections; the flag is set here rather
// than on the command line so `node --test` runs this file like any other.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

/** Bytes retained by the process: V8's heap plus ArrayBuffers (request bodies live there), after GC. */
function retained(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * One received request of LLM-shaped traces (a root, a retrieval, two chat calls, a tool call), with
 * content strings from 200 characters to 32 KiB, decoded from a body of its own as the receiver does
 * (a new attribute key would pin its body in the decoder's key table: the keys repeat).
 */
function request(
  nextId: () => string,
  traceCount: number,
  seed: number,
): { body: Buffer; data: TracesRequest } {
  const specs: SpanSpec[] = [];
  for (let t = 0; t < traceCount; t++) {
    const traceId = nextId();
    const root = `${(t + 1).toString(16).padStart(8, '0')}00000000`;
    const content = (i: number) => 'lorem ipsum dolor '.repeat(Math.ceil((200 << ((seed + t + i) % 8)) / 18));
    for (let i = 1; i <= 4; i++)
      specs.push({
        name: i === 3 ? 'execute_tool' : 'chat gpt-4o-mini',
        traceId,
        spanId: `${root.slice(0, 8)}${i.toString(16).padStart(8, '0')}`,
        parentSpanId: root,
        attrs: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 1200 + i,
          'gen_ai.usage.output_tokens': 300 + i,
          'gen_ai.input.messages': content(i),
          'gen_ai.output.messages': content(i + 3),
        },
      });
    specs.push({ name: 'invoke_agent', traceId, spanId: root, attrs: { 'gen_ai.agent.name': 'support' } });
  }
  const body = Buffer.from(encodeRequest('traces', traces(specs), 'protobuf'));
  const data = decodeRequest('traces', body, 'protobuf') as TracesRequest;
  rememberReceivedBytes(data, body); // as the receiver does, for byte forwarding
  return { body, data };
}

/** Feeds about `wireBytes` of requests to a fresh processor that never reaches a decision deadline. */
async function feed(block: Record<string, unknown>, wireBytes: number) {
  const nextId = ids(11);
  let forwarded = 0;
  const p = new SamplingProcessor(
    settings('llm_sampling'),
    config({ decision_wait: '1h', root_grace: '1h', ...block }),
    {
      async consume(data: TracesRequest) {
        forwarded += data.resourceSpans.length;
      },
    },
    { now: () => 1_000_000 },
  );
  await p.consume(request(nextId, 20, 0).data); // warms up the decoder's key table and the code paths
  await p.tick(1_000_000);
  const before = retained();
  let sent = 0;
  for (let seed = 1; sent < wireBytes; seed++) {
    const r = request(nextId, 20, seed);
    sent += r.body.length;
    await p.consume(r.data);
  }
  await p.tick(1_000_000); // forwards what eviction kept
  return { p, grown: retained() - before, sent, forwarded };
}

describe('llm_sampling: what it retains stays within max_buffered_bytes', () => {
  it('holds undecided traces within max_buffered_bytes + 20 %, and none of the request bodies they came in', async () => {
    const budget = 8 * MiB;
    const { p, grown, sent } = await feed({ max_buffered_bytes: budget }, 4 * budget);
    assert.ok(p.bufferedBytes <= budget, `estimate ${p.bufferedBytes} over the budget`);
    assert.ok(p.bufferedBytes > budget * 0.8, `the buffer should be full, holds ${p.bufferedBytes}`);
    assert.ok(sent > 3 * budget);
    assert.ok(
      grown <= budget * 1.2,
      `retained ${(grown / MiB).toFixed(1)} MiB for ${(p.bufferedBytes / MiB).toFixed(1)} MiB estimated (budget ${budget / MiB} MiB, ${(sent / MiB).toFixed(1)} MiB received)`,
    );
  });

  it('frees the spans of traces it forwarded early, while their root deadline is still to come', async () => {
    const budget = 4 * MiB;
    const { p, grown, sent, forwarded } = await feed(
      { max_buffered_bytes: budget, policies: { probabilistic: { sampling_percentage: 100 } } },
      8 * budget,
    );
    assert.ok(forwarded > 0, 'eviction should have forwarded kept traces');
    assert.ok(sent > 6 * budget);
    assert.ok(
      grown <= budget * 1.2,
      `retained ${(grown / MiB).toFixed(1)} MiB with ${(p.bufferedBytes / MiB).toFixed(1)} MiB buffered (budget ${budget / MiB} MiB, ${(sent / MiB).toFixed(1)} MiB received and forwarded)`,
    );
  });
});
