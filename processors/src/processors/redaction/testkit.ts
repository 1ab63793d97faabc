/** Shared helpers of the redaction tests (not used by the processor itself). */
import type { CreateSettings } from '../../component/component.ts';
import { encodeRequest } from '../../otlp/codec.ts';
import type { RequestBySignal } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { SelfTelemetry } from '../../telemetry/self-telemetry.ts';
import { settings as componentSettings } from '../../testing/components.ts';
import { parseRedactionConfig, type RedactionConfig } from './config.ts';
import type { Detector } from './detectors.ts';
import { PLAIN, Tally } from './redactor.ts';

/** Compiles a config block or throws with every error (tests only build valid configs this way). */
export function compile(
  block: Record<string, unknown> = {},
  extra: readonly Detector[] = [],
): RedactionConfig {
  const cfg = parseRedactionConfig(structuredClone(block), extra);
  if (Array.isArray(cfg)) throw new Error(cfg.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return cfg;
}

/** Redacts one free-standing string (no key) and returns the text. */
export function redact(cfg: RedactionConfig, text: string, key?: string): string {
  const info = key === undefined ? PLAIN : cfg.redactor.keyInfo(key);
  return cfg.redactor.text(text, key, info, new Tally()).text;
}

/** The OTLP/JSON text of a request, as an exporter would send it: what must not contain a planted value. */
export function wire<S extends Signal>(signal: S, req: RequestBySignal[S]): string {
  return Buffer.from(encodeRequest(signal, req, 'json')).toString('utf8');
}

/** A value as it can appear in OTLP/JSON output: raw, JSON-escaped once, or twice (JSON inside a string). */
export function wireForms(value: string): string[] {
  const once = JSON.stringify(value).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [...new Set([value, once, twice])];
}

export function settings(id = 'llm_redaction'): CreateSettings & { telemetry: SelfTelemetry } {
  return componentSettings(id);
}

export { sink } from '../../testing/components.ts';
