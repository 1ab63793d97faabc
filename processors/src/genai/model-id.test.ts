import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelCandidates } from './model-id.ts';

const ids = (m: string) => modelCandidates(m).map((c) => `${c.id}:${c.resolution}`);

describe('modelCandidates', () => {
  it('tries the reported id first, exactly', () => {
    assert.equal(ids('gpt-4o-2024-05-13')[0], 'gpt-4o-2024-05-13:exact');
  });

  it('falls back from a dated snapshot to its family, and says so', () => {
    assert.ok(ids('gpt-4o-2024-11-20').includes('gpt-4o:family_fallback'));
    assert.ok(ids('claude-sonnet-4-20250514').includes('claude-sonnet-4:family_fallback'));
  });

  it('strips provider and router prefixes', () => {
    assert.ok(ids('openai/gpt-4o').includes('gpt-4o:normalised'));
    assert.ok(ids('models/gemini-2.5-pro').includes('gemini-2.5-pro:normalised'));
    assert.ok(
      ids('bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0').includes(
        'claude-3-haiku-20240307:normalised',
      ),
    );
  });

  it('strips Bedrock geo prefixes, versions and the vendor', () => {
    const c = ids('us.anthropic.claude-sonnet-4-20250514-v1:0');
    assert.ok(c.includes('anthropic.claude-sonnet-4-20250514:normalised'));
    assert.ok(c.includes('claude-sonnet-4-20250514:normalised'));
    assert.ok(ids('eu.amazon.nova-pro-v1:0').includes('amazon.nova-pro:normalised'));
  });

  it('reads the model out of a Bedrock inference-profile ARN', () => {
    const c = ids(
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0',
    );
    assert.ok(c.includes('claude-3-7-sonnet-20250219:normalised'));
  });

  it('turns a Vertex @version into the dated id, then the bare one', () => {
    const c = ids('claude-sonnet-4@20250514');
    assert.ok(c.indexOf('claude-sonnet-4-20250514:normalised') < c.indexOf('claude-sonnet-4:normalised'));
  });

  it('lower-cases and trims', () => {
    assert.equal(ids(' GPT-4o ')[0], 'gpt-4o:exact');
  });
});
