import type { LLMObservabilitySpec } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from './resources.ts';
import { selectorMatches } from './selector.ts';

export type ContentCapture = 'none' | 'redacted' | 'full';
export type Entity = NonNullable<NonNullable<LLMObservabilitySpec['redaction']>['entities']>[number];
export type ExporterSpec = NonNullable<LLMObservabilitySpec['exporters']>[number];
type CostSpec = NonNullable<LLMObservabilitySpec['cost']>;
export type PriceSpec = NonNullable<CostSpec['prices']>[number];
export type ModelAlias = NonNullable<CostSpec['modelAliases']>[number];
export type ConfigMapKeyRef = NonNullable<CostSpec['catalogueConfigMap']>;
type CardinalitySpec = NonNullable<LLMObservabilitySpec['cardinality']>;
export type AttributeValueCap = NonNullable<CardinalitySpec['attributeValueCaps']>[number];
export type MetricDimension = NonNullable<NonNullable<LLMObservabilitySpec['metrics']>['dimensions']>[number];

const CAPTURE_ORDER: readonly ContentCapture[] = ['none', 'redacted', 'full'];

/**
 * What the processor distribution can do. Content capture is only switched on in pods when a
 * redacting processor sits in the path: without llm_redaction, `redacted` would be held at `none`
 * (fail closed) and the reason reported.
 */
export const PROCESSOR_CAPABILITIES: {
  readonly redaction: boolean;
  /** llm_cost. */
  readonly cost: boolean;
  /** cardinality_limit. */
  readonly cardinality: boolean;
  /** llm_metrics (span-derived metrics) and the prometheus exporter. */
  readonly metrics: boolean;
} = {
  redaction: true,
  cost: true,
  cardinality: true,
  metrics: true,
};

/** spec.cost with its defaults applied; `enabled` is false when the processor cannot price. */
export interface EffectiveCost {
  readonly enabled: boolean;
  readonly currency: string;
  readonly prices: readonly PriceSpec[];
  readonly modelAliases: readonly ModelAlias[];
  readonly catalogueConfigMap?: ConfigMapKeyRef;
}

/** spec.cardinality with its defaults applied; `enabled` is false when the processor has no cardinality_limit. */
export interface EffectiveCardinality {
  readonly enabled: boolean;
  readonly maxSeriesPerMetric: number;
  readonly attributeValueCaps: readonly AttributeValueCap[];
  readonly excludeAttributes: readonly string[];
}

/** spec.metrics with its defaults applied; `enabled` is false when the processor cannot derive metrics. */
export interface EffectiveMetrics {
  readonly enabled: boolean;
  readonly dimensions: readonly MetricDimension[];
  /** Serve the derived metrics for Prometheus (only meaningful when enabled). */
  readonly prometheus: boolean;
}

/** A policy floor the resource asked to go below, and what the operator did about it. */
export interface Violation {
  readonly policy: string;
  readonly field: string;
  readonly message: string;
}

/** A resource with its policies applied: exactly what gets rendered and injected. */
export interface EffectiveConfig {
  /** What the resource asked for, clamped by policies. */
  readonly contentCapture: ContentCapture;
  /** What pods are actually told to record, after the processor's capabilities (fail closed). */
  readonly injectedContentCapture: ContentCapture;
  readonly redactionEntities: readonly Entity[];
  readonly customPatterns: readonly { name: string; regex: string }[];
  readonly redactionAction: 'mask' | 'hash';
  readonly samplingRatio: number;
  readonly exporters: readonly ExporterSpec[];
  readonly mode: 'gateway' | 'sidecar';
  readonly replicas: number;
  /** No policy constrains cost, cardinality or derived metrics: they are the resource's, with defaults. */
  readonly cost: EffectiveCost;
  readonly cardinality: EffectiveCardinality;
  readonly metrics: EffectiveMetrics;
  readonly violations: readonly Violation[];
  /** Why the injected capture is lower than asked, when it is. */
  readonly captureNote?: string;
}

/** Policies whose namespaceSelector selects a namespace with these labels, in name order. */
export function policiesFor(
  policies: readonly LLMObservabilityPolicy[],
  namespaceLabels: Readonly<Record<string, string>>,
): LLMObservabilityPolicy[] {
  return policies
    .filter((p) => selectorMatches(p.spec?.namespaceSelector, namespaceLabels))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

function endpointAllowed(endpoint: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => (a.endsWith('*') ? endpoint.startsWith(a.slice(0, -1)) : endpoint === a));
}

/**
 * Applies platform floors to a resource. Never fails: what a policy forbids is held at the floor and
 * listed as a violation, so the controller can run the namespace safely and say why in PolicyCompliant.
 */
export function effectiveConfig(
  cr: LLMObservability,
  policies: readonly LLMObservabilityPolicy[],
  capabilities: typeof PROCESSOR_CAPABILITIES = PROCESSOR_CAPABILITIES,
): EffectiveConfig {
  const spec = cr.spec ?? {};
  const violations: Violation[] = [];

  let capture: ContentCapture = spec.contentCapture ?? 'none';
  for (const p of policies) {
    const max = p.spec?.contentCapture?.maxLevel ?? 'redacted';
    if (CAPTURE_ORDER.indexOf(capture) > CAPTURE_ORDER.indexOf(max)) {
      violations.push({
        policy: p.metadata.name,
        field: 'spec.contentCapture',
        message: `contentCapture ${capture} exceeds the maximum ${max} set by policy ${p.metadata.name}; running at ${max}`,
      });
      capture = max;
    }
  }

  const entities = new Set<Entity>(spec.redaction?.entities ?? ['email', 'credit_card', 'api_key']);
  for (const p of policies) {
    const missing = (p.spec?.redaction?.requiredEntities ?? []).filter((e) => !entities.has(e));
    if (missing.length > 0) {
      violations.push({
        policy: p.metadata.name,
        field: 'spec.redaction.entities',
        message: `policy ${p.metadata.name} requires redacting ${missing.join(', ')}; added`,
      });
      for (const e of missing) entities.add(e);
    }
  }

  const exporters: ExporterSpec[] = [];
  for (const e of spec.exporters ?? []) {
    const refusing = policies.find(
      (p) => !endpointAllowed(e.endpoint, p.spec?.exporters?.allowedEndpoints ?? []),
    );
    if (refusing) {
      violations.push({
        policy: refusing.metadata.name,
        field: `spec.exporters[${e.name}].endpoint`,
        message: `endpoint ${e.endpoint} is not allowed by policy ${refusing.metadata.name}; exporter ${e.name} disabled`,
      });
    } else {
      exporters.push(e);
    }
  }

  let injected = capture;
  let captureNote: string | undefined;
  if (capture === 'redacted' && !capabilities.redaction) {
    injected = 'none';
    captureNote =
      'contentCapture redacted is held at none until the processor ships llm_redaction (fail closed)';
  }

  const mode = spec.processor?.mode ?? 'gateway';
  return {
    contentCapture: capture,
    injectedContentCapture: injected,
    redactionEntities: [...entities].sort(),
    customPatterns: spec.redaction?.customPatterns ?? [],
    redactionAction: spec.redaction?.action ?? 'mask',
    samplingRatio: spec.sampling?.ratio ?? 1,
    exporters,
    mode,
    replicas: mode === 'gateway' ? (spec.processor?.replicas ?? 1) : 0,
    cost: {
      enabled: capabilities.cost && (spec.cost?.enabled ?? true),
      currency: spec.cost?.currency ?? 'USD',
      prices: spec.cost?.prices ?? [],
      modelAliases: spec.cost?.modelAliases ?? [],
      ...(spec.cost?.catalogueConfigMap ? { catalogueConfigMap: spec.cost.catalogueConfigMap } : {}),
    },
    cardinality: {
      enabled: capabilities.cardinality,
      maxSeriesPerMetric: spec.cardinality?.maxSeriesPerMetric ?? 2000,
      attributeValueCaps: spec.cardinality?.attributeValueCaps ?? [],
      excludeAttributes: spec.cardinality?.excludeAttributes ?? [],
    },
    metrics: {
      enabled: capabilities.metrics && (spec.metrics?.enabled ?? true),
      dimensions: spec.metrics?.dimensions ?? [],
      prometheus: spec.metrics?.prometheus?.enabled ?? true,
    },
    violations,
    ...(captureNote ? { captureNote } : {}),
  };
}
