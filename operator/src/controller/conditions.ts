import type { LLMObservabilityStatus } from '../api/v1alpha1/types.gen.ts';

export type Condition = NonNullable<LLMObservabilityStatus['conditions']>[number];
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Sets a condition with apimachinery semantics: lastTransitionTime moves only when the status flips,
 * so "since when has this been false" stays truthful across reconciles.
 */
export function withCondition(existing: readonly Condition[], next: ConditionInput, now: Date): Condition[] {
  const prev = existing.find((c) => c.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  const merged: Condition = { ...next, lastTransitionTime };
  return [...existing.filter((c) => c.type !== next.type), merged].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}
