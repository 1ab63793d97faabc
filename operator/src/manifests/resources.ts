import type { LLMObservabilityPolicySpec, LLMObservabilitySpec } from '../api/v1alpha1/types.gen.ts';

/** The slice of Kubernetes object metadata the builders read. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface LLMObservability {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: LLMObservabilitySpec;
}

export interface LLMObservabilityPolicy {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: LLMObservabilityPolicySpec;
}

export type LabelSelector = NonNullable<LLMObservabilitySpec['selector']>;
