// Generates types.gen.ts from the CRDs' OpenAPI schemas, the source of truth for the API types.
//   node operator/src/api/v1alpha1/generate.ts          (make generate)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

const crdsDir = join(import.meta.dirname, '..', '..', '..', '..', 'crds');
export const GENERATED_PATH = join(import.meta.dirname, 'types.gen.ts');

const KINDS = [
  { file: 'llmobs.dev_llmobservabilities.yaml', kind: 'LLMObservability' },
  { file: 'llmobs.dev_llmobservabilitypolicies.yaml', kind: 'LLMObservabilityPolicy' },
] as const;

/** Drops Kubernetes extensions and the defaults' effect on optionality: a field the apiserver defaults is still optional on input. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'default') continue;
    // Under `properties` the keys are field names (a field may be called `default`), not schema keywords.
    out[k] =
      k === 'properties' && v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, clean(sub)]))
        : clean(v);
  }
  if (out.type === 'object' && out.additionalProperties === undefined && out.properties !== undefined) {
    out.additionalProperties = false;
  }
  return out;
}

export async function generate(): Promise<string> {
  const parts: string[] = [
    '// AUTO-GENERATED from crds/*.yaml by operator/src/api/v1alpha1/generate.ts — do not edit. Run `make generate`.',
    '',
  ];
  for (const { file, kind } of KINDS) {
    const crd = yaml.load(readFileSync(join(crdsDir, file), 'utf8')) as {
      spec: {
        versions: { name: string; schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[];
      };
    };
    const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
    if (!version) throw new Error(`${file} has no v1alpha1`);
    const props = version.schema.openAPIV3Schema.properties;
    for (const part of ['spec', 'status'] as const) {
      const schema = clean(props[part]) as JSONSchema;
      const ts = await compile({ ...schema, title: `${kind}${part === 'spec' ? 'Spec' : 'Status'}` }, kind, {
        bannerComment: '',
        additionalProperties: false,
        strictIndexSignatures: true,
        format: true,
        maxItems: -1,
        unknownAny: true,
        style: { singleQuote: true },
      });
      parts.push(ts.trim(), '');
    }
  }
  return `${parts.join('\n')}`;
}

if (import.meta.main) {
  writeFileSync(GENERATED_PATH, await generate());
  process.stdout.write(`wrote ${GENERATED_PATH}\n`);
}
