import {
  BUCKETS,
  type BucketPrices,
  type Catalogue,
  type ModelEntry,
  type PricePeriod,
  SERVICE_TIERS,
} from './catalogue.ts';

/**
 * Writes a catalogue as YAML meant to be read and diffed by people: one block per model, bucket prices
 * as one-line maps, models grouped by provider. `loadCatalogue` reads it back unchanged.
 */

const RESERVED = /^(?:true|false|yes|no|on|off|null|~|y|n)$/i;

function str(s: string): string {
  if (/^[A-Za-z][A-Za-z0-9._/-]*$/.test(s) && !RESERVED.test(s)) return s;
  return JSON.stringify(s);
}

function num(n: number): string {
  return String(n);
}

function buckets(p: BucketPrices): string[] {
  const out: string[] = [];
  for (const b of BUCKETS) {
    const v = p[b];
    if (v !== undefined) out.push(`${b}: ${num(v)}`);
  }
  return out;
}

function flowMap(parts: readonly string[]): string {
  return `{${parts.join(', ')}}`;
}

function period(p: PricePeriod, indent: string): string[] {
  const rows: string[] = [];
  if (p.effective_from !== undefined) rows.push(`effective_from: ${JSON.stringify(p.effective_from)}`);
  rows.push(...buckets(p));
  if (p.per_hour !== undefined) rows.push(`per_hour: ${num(p.per_hour)}`);
  if (p.context_tiers && p.context_tiers.length > 0) {
    rows.push('context_tiers:');
    for (const t of p.context_tiers) rows.push(`  - ${flowMap([`above: ${t.above}`, ...buckets(t)])}`);
  }
  const tiers = SERVICE_TIERS.filter((t) => p.service_tiers?.[t]);
  if (tiers.length > 0) {
    rows.push('service_tiers:');
    for (const t of tiers) rows.push(`  ${t}: ${flowMap(buckets(p.service_tiers?.[t] ?? {}))}`);
  }
  return rows.map((r, i) => `${indent}${i === 0 ? '- ' : '  '}${r}`);
}

function model(m: ModelEntry): string[] {
  const lines = [`  - provider: ${str(m.provider)}`, `    model: ${str(m.model)}`];
  if (m.aliases && m.aliases.length > 0) lines.push(`    aliases: [${m.aliases.map(str).join(', ')}]`);
  lines.push(`    source: ${JSON.stringify(m.source)}`, `    read: ${JSON.stringify(m.read)}`, '    prices:');
  for (const p of m.prices) lines.push(...period(p, '      '));
  return lines;
}

/** The catalogue as YAML; `header` lines are written as comments at the top. */
export function formatCatalogueYaml(catalogue: Catalogue, header: readonly string[] = []): string {
  const lines = header.map((h) => (h ? `# ${h}` : '#'));
  if (lines.length > 0) lines.push('');
  lines.push(`currency: ${catalogue.currency}`, 'models:');
  let provider: string | undefined;
  for (const m of catalogue.models) {
    if (m.provider !== provider) {
      if (provider !== undefined) lines.push('');
      lines.push(`  # ${m.provider}`);
      provider = m.provider;
    }
    lines.push(...model(m));
  }
  return `${lines.join('\n')}\n`;
}
