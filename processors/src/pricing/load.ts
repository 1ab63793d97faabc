import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import * as yaml from 'js-yaml';
import { BUCKETS, type Catalogue, SERVICE_TIERS } from './catalogue.ts';

/**
 * Loading and validating price catalogues (the shipped `catalogue.yaml`, or a file a user points the
 * processor at). Structure is checked with a JSON Schema; the rules a schema cannot say (finite numbers,
 * real calendar dates, ascending periods and tiers, unique ids per provider) are checked after it. Every
 * problem names its path, e.g. `models[3].prices[0].context_tiers[1].above`.
 */

const PRICE = { type: 'number', minimum: 0 } as const;

const BUCKET_PROPERTIES = Object.fromEntries(BUCKETS.map((b) => [b, PRICE])) as Record<
  (typeof BUCKETS)[number],
  typeof PRICE
>;

const ISO_DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

const BUCKET_PRICES = {
  type: 'object',
  additionalProperties: false,
  properties: BUCKET_PROPERTIES,
} as const;

/** JSON Schema (draft 2020-12 subset) of a catalogue file; see catalogue.ts for the meaning of each field. */
export const CATALOGUE_SCHEMA = {
  $id: 'https://llmobs.dev/schemas/price-catalogue.json',
  type: 'object',
  additionalProperties: false,
  required: ['currency', 'models'],
  properties: {
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    models: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['provider', 'model', 'source', 'read', 'prices'],
        properties: {
          provider: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]*$' },
          model: { type: 'string', minLength: 1 },
          aliases: { type: 'array', items: { type: 'string', minLength: 1 } },
          source: { type: 'string', minLength: 1 },
          read: ISO_DATE,
          prices: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                ...BUCKET_PROPERTIES,
                effective_from: ISO_DATE,
                per_hour: PRICE,
                context_tiers: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['above'],
                    properties: { ...BUCKET_PROPERTIES, above: { type: 'integer', minimum: 0 } },
                  },
                },
                service_tiers: {
                  type: 'object',
                  additionalProperties: false,
                  properties: Object.fromEntries(SERVICE_TIERS.map((t) => [t, BUCKET_PRICES])),
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** A catalogue that failed to load; `problems` lists every problem found, each prefixed with its path. */
export class CatalogueError extends Error {
  readonly problems: readonly string[];
  constructor(origin: string, problems: readonly string[]) {
    super(`${origin}: invalid price catalogue:\n  ${problems.join('\n  ')}`);
    this.name = 'CatalogueError';
    this.problems = problems;
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(CATALOGUE_SCHEMA);

/** `/models/3/prices/0` → `models[3].prices[0]`. */
function jsonPointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(e: ErrorObject): string {
  const path = jsonPointerToPath(e.instancePath);
  const where = path || '(top level)';
  switch (e.keyword) {
    case 'required':
      return `${join(path, String((e.params as { missingProperty?: string }).missingProperty))}: must be set`;
    case 'additionalProperties':
      return `${where}: unknown key "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`;
    case 'pattern':
      if (path.endsWith('read') || path.endsWith('effective_from'))
        return `${where}: must be an ISO date (YYYY-MM-DD)`;
      if (path === 'currency') return `${where}: must be an ISO 4217 code such as USD`;
      return `${where}: must match ${String((e.params as { pattern?: string }).pattern)}`;
    case 'minimum':
      return `${where}: must be >= ${String((e.params as { limit?: number }).limit)}`;
    case 'minItems':
      return `${where}: must not be empty`;
    default:
      return `${where}: ${e.message ?? 'is invalid'}`;
  }
}

function isValidDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

function checkBuckets(path: string, prices: object, problems: string[]): number {
  let n = 0;
  for (const b of BUCKETS) {
    const v = (prices as Record<string, unknown>)[b];
    if (v === undefined) continue;
    n++;
    if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${path}.${b}: must be a finite number`);
  }
  return n;
}

/** The rules a JSON Schema cannot express; runs only on a catalogue that passed the schema. */
function checkSemantics(cat: Catalogue, problems: string[]): void {
  const seen = new Map<string, string>();
  const claim = (provider: string, id: string, path: string): void => {
    if (id !== id.toLowerCase()) problems.push(`${path}: must be lower case ("${id.toLowerCase()}")`);
    const key = `${provider}\u0000${id.toLowerCase()}`;
    const first = seen.get(key);
    if (first) problems.push(`${path}: "${id}" of provider ${provider} is already defined at ${first}`);
    else seen.set(key, path);
  };
  cat.models.forEach((m, i) => {
    const mp = `models[${i}]`;
    claim(m.provider, m.model, `${mp}.model`);
    (m.aliases ?? []).forEach((a, j) => {
      claim(m.provider, a, `${mp}.aliases[${j}]`);
    });
    if (!isValidDate(m.read)) problems.push(`${mp}.read: "${m.read}" is not a calendar date`);
    let previousFrom: string | undefined;
    m.prices.forEach((p, k) => {
      const pp = `${mp}.prices[${k}]`;
      let priced = checkBuckets(pp, p, problems);
      if (p.per_hour !== undefined) {
        priced++;
        if (!Number.isFinite(p.per_hour)) problems.push(`${pp}.per_hour: must be a finite number`);
      }
      if (priced === 0) problems.push(`${pp}: must have at least one token price or per_hour`);
      if (p.effective_from === undefined) {
        if (k > 0) problems.push(`${pp}.effective_from: must be set on every period but the first`);
      } else if (!isValidDate(p.effective_from)) {
        problems.push(`${pp}.effective_from: "${p.effective_from}" is not a calendar date`);
      } else {
        if (previousFrom !== undefined && p.effective_from <= previousFrom)
          problems.push(`${pp}.effective_from: must be after the previous period (${previousFrom})`);
        previousFrom = p.effective_from;
      }
      let previousAbove = -1;
      (p.context_tiers ?? []).forEach((t, l) => {
        const tp = `${pp}.context_tiers[${l}]`;
        if (t.above <= previousAbove)
          problems.push(`${tp}.above: must be > previous tier (${previousAbove})`);
        previousAbove = Math.max(previousAbove, t.above);
        if (checkBuckets(tp, t, problems) === 0) problems.push(`${tp}: must set at least one price`);
      });
      for (const tier of SERVICE_TIERS) {
        const st = p.service_tiers?.[tier];
        if (st && checkBuckets(`${pp}.service_tiers.${tier}`, st, problems) === 0)
          problems.push(`${pp}.service_tiers.${tier}: must set at least one price`);
      }
    });
  });
}

/** Every problem with `value` as a catalogue, each prefixed with its path; empty when it is valid. */
export function validateCatalogue(value: unknown): string[] {
  if (!validateSchema(value)) return (validateSchema.errors ?? []).map(describe);
  const problems: string[] = [];
  checkSemantics(value as unknown as Catalogue, problems);
  return problems;
}

/**
 * Parses a catalogue from YAML (or JSON, which is YAML) and validates it. Throws a CatalogueError naming
 * `origin` and listing every problem found.
 */
export function loadCatalogue(text: string, origin: string): Catalogue {
  let parsed: unknown;
  try {
    // The core schema keeps unquoted dates as strings.
    parsed = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw new CatalogueError(origin, [`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  const problems = validateCatalogue(parsed);
  if (problems.length > 0) throw new CatalogueError(origin, problems);
  return parsed as Catalogue;
}

const SHIPPED = new URL('./catalogue.yaml', import.meta.url);
let shipped: Catalogue | undefined;

/** The catalogue shipped with the processor (catalogue.yaml next to this module), loaded once. */
export function shippedCatalogue(): Catalogue {
  shipped ??= loadCatalogue(readFileSync(SHIPPED, 'utf8'), SHIPPED.pathname);
  return shipped;
}
