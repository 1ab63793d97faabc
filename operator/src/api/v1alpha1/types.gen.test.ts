import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GENERATED_PATH, generate } from './generate.ts';

test('types.gen.ts matches the CRD schemas (run `make generate` after changing crds/)', async () => {
  assert.equal(readFileSync(GENERATED_PATH, 'utf8'), await generate());
});
