import type { LLMObservabilitySpec } from '../api/v1alpha1/types.gen.ts';
import type { LLMObservability, LLMObservabilityPolicy } from './resources.ts';
import { selectorMatches } from './selector.ts';

export type ContentCapture = 'none' | 'redacted' | 'full';
export type Entity = NonNullable<NonNullable<LLMObservabilitySpec['redaction']>['entities']>[number];
export type ExporterSpec = NonNullable<LLMObservabilitySpec['exporters']>[number];
/** A signal an exporter takes (spec.exporters[].signals). */
export type Signal = NonNullable<ExporterSpec['signals']>[number];
/** Every signal, in pipeline order: what an exporter takes unless its `signals` says otherwise. */
export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];
/** An exporter no policy refuses, with the signals it takes (all three when the resource does not say). */
export type EffectiveExporter = Omit<ExporterSpec, 'signals'> & { readonly signals: readonly Signal[] };
type CostSpec = NonNullable<LLMObservabilitySpec['cost']>;
export type PriceSpec = NonNullable<CostSpec['prices']>[number];
export type ModelAlias = NonNullable<CostSpec['modelAliases']>[number];
export type ConfigMapKeyRef = NonNullable<CostSpec['catalogueConfigMap']>;
type CardinalitySpec = NonNullable<LLMObservabilitySpec['cardinality']>;
export type AttributeValueCap = NonNullable<CardinalitySpec['attributeValueCaps']>[number];
export type MetricDimension = NonNullable<NonNullable<LLMObservabilitySpec['metrics']>['dimensions']>[number];
type QualitySpec = NonNullable<LLMObservabilitySpec['quality']>;
type EvaluationSpec = NonNullable<QualitySpec['evaluation']>;
export type JudgeSpec = NonNullable<EvaluationSpec['judge']>;
export type Rubric = NonNullable<EvaluationSpec['rubrics']>[number];
export type JudgePrice = NonNullable<EvaluationSpec['judgePrice']>;

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
  /** llm_sampling (tail sampling). */
  readonly tailSampling: boolean;
  /** llm_evaluation (LLM-as-judge). */
  readonly evaluation: boolean;
  /** The llm_feedback receiver. */
  readonly feedback: boolean;
} = {
  redaction: true,
  cost: true,
  cardinality: true,
  metrics: true,
  tailSampling: true,
  evaluation: true,
  feedback: true,
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

/** spec.quality.tailSampling with its defaults applied; `enabled` is false when the processor has no llm_sampling. */
export interface EffectiveTailSampling {
  readonly enabled: boolean;
  /** Share (0–100) of the traces no policy keeps that are kept. */
  readonly keepPercentage: number;
  /** A duration (30s). */
  readonly latencyThreshold: string;
  /** Per trace, in the cost currency. */
  readonly costThreshold: number;
  /** A duration (30s). */
  readonly decisionWait: string;
}

/**
 * spec.quality.evaluation with its defaults applied. Enabled only with a judge and rubrics (the CRD
 * requires both), when the processor has llm_evaluation and no policy refuses the judge's endpoint.
 */
export type EffectiveEvaluation =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      readonly judge: JudgeSpec;
      readonly rubrics: readonly Rubric[];
      /** Share (0–100) of traces whose calls are judged. */
      readonly samplingPercentage: number;
      readonly maxRequestsPerMinute: number;
      /** USD; no cost cap when absent. */
      readonly maxCostPerHour?: number;
      /** USD per million tokens. */
      readonly judgePrice?: JudgePrice;
    };

/** spec.quality with its defaults applied. */
export interface EffectiveQuality {
  readonly tailSampling: EffectiveTailSampling;
  readonly evaluation: EffectiveEvaluation;
  /** Serve the llm_feedback receiver. */
  readonly feedback: boolean;
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
  readonly exporters: readonly EffectiveExporter[];
  readonly mode: 'gateway' | 'sidecar';
  readonly replicas: number;
  /** No policy constrains cost, cardinality or derived metrics: they are the resource's, with defaults. */
  readonly cost: EffectiveCost;
  readonly cardinality: EffectiveCardinality;
  readonly metrics: EffectiveMetrics;
  /**
   * Tail sampling, evaluation and feedback are the resource's too, except that the judge receives
   * (redacted) prompt content, so a policy's allowed endpoints hold for it as for exporters.
   */
  readonly quality: EffectiveQuality;
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

function effectiveEvaluation(
  ev: EvaluationSpec | undefined,
  policies: readonly LLMObservabilityPolicy[],
  capabilities: typeof PROCESSOR_CAPABILITIES,
  violations: Violation[],
): EffectiveEvaluation {
  const judge = ev?.judge;
  const rubrics = ev?.rubrics ?? [];
  if (!capabilities.evaluation || !(ev?.enabled ?? false) || !judge || rubrics.length === 0) {
    return { enabled: false };
  }
  const refusing = policies.find(
    (p) => !endpointAllowed(judge.endpoint, p.spec?.exporters?.allowedEndpoints ?? []),
  );
  if (refusing) {
    violations.push({
      policy: refusing.metadata.name,
      field: 'spec.quality.evaluation.judge.endpoint',
      message: `judge endpoint ${judge.endpoint} is not allowed by policy ${refusing.metadata.name} (the judge receives prompt content); evaluation disabled`,
    });
    return { enabled: false };
  }
  return {
    enabled: true,
    judge,
    rubrics,
    samplingPercentage: ev?.samplingPercentage ?? 5,
    maxRequestsPerMinute: ev?.budget?.maxRequestsPerMinute ?? 60,
    ...(ev?.budget?.maxCostPerHour !== undefined ? { maxCostPerHour: ev.budget.maxCostPerHour } : {}),
    ...(ev?.judgePrice ? { judgePrice: ev.judgePrice } : {}),
  };
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

  const exporters: EffectiveExporter[] = [];
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
      // In pipeline order, each once; the CRD defaults an absent list to all three.
      const signals = e.signals ? SIGNALS.filter((s) => e.signals?.includes(s)) : SIGNALS;
      exporters.push({ ...e, signals });
    }
  }

  const evaluation = effectiveEvaluation(spec.quality?.evaluation, policies, capabilities, violations);

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
    quality: {
      tailSampling: {
        enabled: capabilities.tailSampling && (spec.quality?.tailSampling?.enabled ?? false),
        keepPercentage: spec.quality?.tailSampling?.keepPercentage ?? 10,
        latencyThreshold: spec.quality?.tailSampling?.latencyThreshold ?? '30s',
        costThreshold: spec.quality?.tailSampling?.costThreshold ?? 1,
        decisionWait: spec.quality?.tailSampling?.decisionWait ?? '30s',
      },
      evaluation,
      feedback: capabilities.feedback && (spec.quality?.feedback?.enabled ?? false),
    },
    violations,
    ...(captureNote ? { captureNote } : {}),
  };
}
