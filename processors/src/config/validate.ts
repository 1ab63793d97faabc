import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { AnyFactory, FieldError } from '../component/factory.ts';
import { parseComponentId } from '../component/id.ts';
import { SIGNALS, type Signal } from '../otlp/schema.ts';
import type { Registry, Section } from '../service/registry.ts';
import { parseHostPort } from './schema-helpers.ts';

/** A component as configured: its factory and the typed config the factory parsed. */
export interface ConfiguredComponent {
  readonly id: string;
  readonly factory: AnyFactory;
  readonly config: unknown;
}

export interface PipelineConfig {
  readonly id: string;
  readonly signal: Signal;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

export interface ServiceConfig {
  readonly receivers: ReadonlyMap<string, ConfiguredComponent>;
  readonly processors: ReadonlyMap<string, ConfiguredComponent>;
  readonly exporters: ReadonlyMap<string, ConfiguredComponent>;
  readonly extensions: ReadonlyMap<string, ConfiguredComponent>;
  readonly pipelines: readonly PipelineConfig[];
  readonly serviceExtensions: readonly string[];
  /** Where /metrics is served; undefined when `service.telemetry.metrics.level: none`. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const SECTIONS: readonly Section[] = ['receivers', 'processors', 'exporters', 'extensions'];
const TOP_LEVEL = new Set([...SECTIONS, 'service', 'connectors']);

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const compiled = new WeakMap<AnyFactory, ValidateFunction>();

function validatorFor(f: AnyFactory): ValidateFunction {
  let v = compiled.get(f);
  if (!v) {
    v = ajv.compile(f.schema);
    compiled.set(f, v);
  }
  return v;
}

function describe(e: ErrorObject): FieldError {
  const path = e.instancePath.split('/').filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty?: string }).additionalProperty);
    return { path, message: `has invalid keys: ${key}` };
  }
  if (e.keyword === 'required') {
    // Point at the missing field itself, as every other error does (`exporters.otlp_grpc.endpoint`).
    const missing = String((e.params as { missingProperty?: string }).missingProperty);
    return { path: path ? `${path}.${missing}` : missing, message: 'must be set' };
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return { path, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` };
  }
  if (e.keyword === 'const') {
    return {
      path,
      message: `must be ${JSON.stringify((e.params as { allowedValue?: unknown }).allowedValue)}`,
    };
  }
  return { path, message: e.message ?? 'is invalid' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

/**
 * Validates a parsed config file against the registry and returns either the service config or every
 * problem found, each with its path (e.g. `exporters.otlp_http/tempo.endpoint: must be set`).
 * Nothing is started here; components compile their rules in their factory's parse.
 */
export function validateConfig(
  raw: unknown,
  registry: Registry,
): { config?: ServiceConfig; errors: string[] } {
  const errors: string[] = [];
  const err = (path: string, message: string) => errors.push(`${path}: ${message}`);
  if (!isObject(raw))
    return { errors: ['config: must be a YAML mapping with receivers, exporters and service'] };
  for (const key of Object.keys(raw)) if (!TOP_LEVEL.has(key)) err(key, 'unknown top-level key');
  if (
    raw.connectors !== undefined &&
    raw.connectors !== null &&
    Object.keys(raw.connectors as object).length > 0
  ) {
    err('connectors', 'connectors are not supported by this distribution');
  }

  const components = {} as Record<Section, Map<string, ConfiguredComponent>>;
  for (const section of SECTIONS) {
    const block = raw[section] ?? {};
    components[section] = new Map();
    if (!isObject(block)) {
      err(section, 'must be a mapping of component ids to their settings');
      continue;
    }
    for (const [id, settings] of Object.entries(block)) {
      const path = `${section}.${id}`;
      const parsedId = parseComponentId(id);
      if (typeof parsedId === 'string') {
        err(path, parsedId);
        continue;
      }
      const factory = registry.lookup(section, parsedId.type);
      if (!factory) {
        err(
          path,
          `unknown type: "${parsedId.type}" for id: "${id}" (valid values: [${registry.types(section).join(' ')}])`,
        );
        continue;
      }
      if (settings !== null && settings !== undefined && !isObject(settings)) {
        err(path, 'settings must be a mapping');
        continue;
      }
      const copy = structuredClone(settings ?? {}) as Record<string, unknown>;
      const validate = validatorFor(factory);
      if (!validate(copy)) {
        for (const e of validate.errors ?? []) {
          const d = describe(e);
          err(d.path ? `${path}.${d.path}` : path, d.message);
        }
        continue;
      }
      const parsed = factory.parse(copy);
      if (Array.isArray(parsed)) {
        for (const e of parsed as FieldError[]) err(e.path ? `${path}.${e.path}` : path, e.message);
        continue;
      }
      components[section].set(id, { id, factory, config: parsed });
    }
  }

  const service = raw.service;
  const pipelines: PipelineConfig[] = [];
  let serviceExtensions: string[] = [];
  let metrics: ServiceConfig['metrics'] = { host: 'localhost', port: 8888 };
  let logLevel: ServiceConfig['logLevel'] = 'info';
  if (!isObject(service)) {
    err('service', 'must be set, with service.pipelines');
  } else {
    for (const key of Object.keys(service)) {
      if (!['pipelines', 'extensions', 'telemetry'].includes(key)) err(`service.${key}`, 'unknown key');
    }
    serviceExtensions = stringList(service.extensions ?? []) ?? [];
    if (!stringList(service.extensions ?? [])) err('service.extensions', 'must be a list of extension ids');
    for (const ext of serviceExtensions) {
      const known = (raw.extensions as Record<string, unknown> | undefined)?.[ext] !== undefined;
      if (!known) err('service.extensions', `references extension "${ext}" which is not configured`);
    }
    const telemetry = service.telemetry ?? {};
    if (isObject(telemetry)) {
      const m = telemetry.metrics;
      if (isObject(m)) {
        if (m.level === 'none') metrics = undefined;
        else if (typeof m.address === 'string') {
          const fe: FieldError[] = [];
          const hp = parseHostPort('service.telemetry.metrics.address', m.address, fe);
          for (const e of fe) err(e.path, e.message);
          metrics = hp;
        } else if (Array.isArray(m.readers)) {
          const prom = (
            m.readers[0] as { pull?: { exporter?: { prometheus?: { host?: string; port?: number } } } }
          )?.pull?.exporter?.prometheus;
          if (prom && typeof prom.port === 'number')
            metrics = { host: prom.host ?? 'localhost', port: prom.port };
          else
            err(
              'service.telemetry.metrics.readers',
              'only a pull reader with a prometheus exporter is supported',
            );
        }
      }
      const l = telemetry.logs;
      if (isObject(l) && l.level !== undefined) {
        const level = String(l.level).toLowerCase();
        if (['debug', 'info', 'warn', 'error'].includes(level)) logLevel = level as ServiceConfig['logLevel'];
        else err('service.telemetry.logs.level', `must be one of debug, info, warn, error`);
      }
    }
    const p = service.pipelines;
    if (!isObject(p) || Object.keys(p).length === 0) {
      err('service.pipelines', 'must define at least one pipeline');
    } else {
      for (const [pid, def] of Object.entries(p)) {
        const path = `service.pipelines.${pid}`;
        const signal = pid.split('/')[0] as Signal;
        if (!SIGNALS.includes(signal)) {
          err(path, `unknown signal "${signal}" (valid values: [traces metrics logs])`);
          continue;
        }
        if (!isObject(def)) {
          err(path, 'must have receivers and exporters');
          continue;
        }
        const lists: Record<'receivers' | 'processors' | 'exporters', string[]> = {
          receivers: [],
          processors: [],
          exporters: [],
        };
        for (const section of ['receivers', 'processors', 'exporters'] as const) {
          const list = stringList(def[section] ?? []);
          if (!list) {
            err(`${path}.${section}`, 'must be a list of component ids');
            continue;
          }
          lists[section] = list;
          if (section === 'exporters' && list.length === 0)
            err(`${path}.${section}`, 'must have at least one entry');
          for (const ref of list) {
            const c = components[section].get(ref);
            const known = (raw[section] as Record<string, unknown> | undefined)?.[ref] !== undefined;
            if (!c && !known)
              err(
                `${path}.${section}`,
                `references ${section.slice(0, -1)} "${ref}" which is not configured`,
              );
            else if (c && 'signals' in c.factory && !c.factory.signals.includes(signal)) {
              err(`${path}.${section}`, `${section.slice(0, -1)} "${ref}" does not support ${signal}`);
            }
          }
        }
        if (new Set(lists.processors).size !== lists.processors.length) {
          err(`${path}.processors`, 'lists the same processor twice');
        }
        pipelines.push({ id: pid, signal, ...lists });
      }
      checkFeeds(pipelines, components.processors, err);
    }
  }
  if (errors.length > 0) return { errors };
  return {
    config: {
      receivers: components.receivers,
      processors: components.processors,
      exporters: components.exporters,
      extensions: components.extensions,
      pipelines,
      serviceExtensions,
      metrics,
      logLevel,
    },
    errors,
  };
}

/**
 * Pipelines fed by a processor (ProcessorFactory.emitsTo) must exist and carry the right signal;
 * every pipeline needs a receiver or a processor feeding it.
 */
function checkFeeds(
  pipelines: readonly PipelineConfig[],
  processors: ReadonlyMap<string, ConfiguredComponent>,
  err: (path: string, message: string) => void,
): void {
  const fed = new Set<string>();
  const used = new Set(pipelines.flatMap((p) => p.processors));
  for (const id of used) {
    const c = processors.get(id);
    const f = c?.factory;
    if (!c || f?.kind !== 'processor' || !f.emitsTo) continue;
    for (const ref of f.emitsTo(c.config)) {
      const target = pipelines.find((p) => p.id === ref.pipeline);
      const path = `processors.${id}.${ref.path}`;
      if (!target) err(path, `references pipeline "${ref.pipeline}" which is not in service.pipelines`);
      else if (target.signal !== ref.signal)
        err(path, `pipeline "${ref.pipeline}" carries ${target.signal}, not ${ref.signal}`);
      else if (target.processors.includes(id))
        err(path, `pipeline "${ref.pipeline}" contains ${id} itself (a loop)`);
      else fed.add(ref.pipeline);
    }
  }
  for (const p of pipelines) {
    if (p.receivers.length === 0 && !fed.has(p.id))
      err(`service.pipelines.${p.id}.receivers`, 'must have at least one entry (or be fed by a processor)');
  }
}
