import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { span } from '../testing/genai-spans.ts';
import { documentsOf, exchangeOf } from './content.ts';

describe('exchangeOf', () => {
  it('reads OTel GenAI structured messages with system instructions', () => {
    const s = span({
      attrs: {
        'gen_ai.system_instructions': JSON.stringify([{ type: 'text', content: 'Be brief.' }]),
        'gen_ai.input.messages': JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: 'Capital of France?' }] },
        ]),
        'gen_ai.output.messages': JSON.stringify([
          { role: 'assistant', parts: [{ type: 'text', content: 'Paris.' }], finish_reason: 'stop' },
        ]),
      },
    });
    assert.deepEqual(exchangeOf(s, 1000), {
      input: 'system: Be brief.\nuser: Capital of France?',
      output: 'assistant: Paris.',
    });
  });

  it('reads OpenLLMetry indexed prompts and completions in index order', () => {
    const s = span({
      attrs: {
        'gen_ai.prompt.1.role': 'user',
        'gen_ai.prompt.1.content': 'second',
        'gen_ai.prompt.0.role': 'system',
        'gen_ai.prompt.0.content': 'first',
        'gen_ai.completion.0.role': 'assistant',
        'gen_ai.completion.0.content': 'answer',
      },
    });
    assert.deepEqual(exchangeOf(s, 1000), {
      input: 'system: first\nuser: second',
      output: 'assistant: answer',
    });
  });

  it('reads OpenInference messages, including multi-part contents', () => {
    const s = span({
      attrs: {
        'llm.input_messages.0.message.role': 'user',
        'llm.input_messages.0.message.contents.0.message_content.text': 'look at this',
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.content': 'done',
      },
    });
    assert.deepEqual(exchangeOf(s, 1000), { input: 'user: look at this', output: 'assistant: done' });
  });

  it('caps each side and says it did', () => {
    const s = span({ attrs: { 'input.value': 'x'.repeat(50), 'output.value': 'y' } });
    assert.equal(exchangeOf(s, 10)?.input, `${'x'.repeat(10)}…[truncated]`);
  });

  it('returns undefined when content was not captured', () => {
    assert.equal(exchangeOf(span({ attrs: { 'gen_ai.request.model': 'gpt-4o' } }), 1000), undefined);
  });
});

describe('documentsOf', () => {
  it('reads OpenInference retrieval documents', () => {
    const s = span({
      attrs: {
        'retrieval.documents.0.document.content': 'Refunds take 5 days.',
        'retrieval.documents.1.document.content': 'Shipping is free.',
      },
    });
    assert.equal(documentsOf(s, 1000), 'Refunds take 5 days.\nShipping is free.');
  });
});
