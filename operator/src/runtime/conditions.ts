/** `metav1.ConditionStatus`. */
export const ConditionStatus = {
  True: 'True',
  False: 'False',
  Unknown: 'Unknown',
} as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];

/** `metav1.Condition`, the shape of `status.conditions[]` in the llmobs.dev CRDs. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** The `metadata.generation` this condition was computed from. */
  observedGeneration?: number;
  /** RFC 3339, second precision; changes only when `status` changes. */
  lastTransitionTime: string;
  /** CamelCase machine-readable reason. */
  reason: string;
  message: string;
}

/** What a caller sets; `lastTransitionTime` is filled in from `now` when the status changes. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

/** The CRDs' (and metav1.Condition's) `maxLength` of `message`. */
export const MAX_CONDITION_MESSAGE_LENGTH = 32_768;

/** `metav1.Time` as the apiserver writes it: RFC 3339 in UTC, whole seconds. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function truncateMessage(message: string): string {
  if (message.length <= MAX_CONDITION_MESSAGE_LENGTH) return message;
  const marker = '… (truncated)';
  return message.slice(0, MAX_CONDITION_MESSAGE_LENGTH - marker.length) + marker;
}

/**
 * Sets the condition of `next.type` in `conditions` (in place), with apimachinery's
 * `meta.SetStatusCondition` semantics:
 *
 * - a new type is appended, with `lastTransitionTime` = `next.lastTransitionTime` or `now`;
 * - `lastTransitionTime` of an existing condition changes only when its `status` changes;
 * - `reason`, `message` and `observedGeneration` are always brought up to date.
 *
 * Messages longer than the API allows are truncated. Returns whether anything changed, so a caller can
 * skip a status write that would change nothing.
 */
export function setCondition(conditions: Condition[], next: ConditionInput, now: Date): boolean {
  const message = truncateMessage(next.message);
  const existing = conditions.find((c) => c.type === next.type);
  if (existing === undefined) {
    const added: Condition = {
      type: next.type,
      status: next.status,
      lastTransitionTime: next.lastTransitionTime ?? formatTime(now),
      reason: next.reason,
      message,
    };
    if (next.observedGeneration !== undefined) added.observedGeneration = next.observedGeneration;
    conditions.push(added);
    return true;
  }
  let changed = false;
  if (existing.status !== next.status) {
    existing.status = next.status;
    existing.lastTransitionTime = next.lastTransitionTime ?? formatTime(now);
    changed = true;
  }
  if (existing.reason !== next.reason) {
    existing.reason = next.reason;
    changed = true;
  }
  if (existing.message !== message) {
    existing.message = message;
    changed = true;
  }
  if (existing.observedGeneration !== next.observedGeneration) {
    if (next.observedGeneration === undefined) delete existing.observedGeneration;
    else existing.observedGeneration = next.observedGeneration;
    changed = true;
  }
  return changed;
}

/** Removes the condition of `type` (in place); returns whether one was there. */
export function removeCondition(conditions: Condition[], type: string): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i < 0) return false;
  conditions.splice(i, 1);
  return true;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition exists with status True (and, if given, was computed for `generation`). */
export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
  generation?: number,
): boolean {
  const c = findCondition(conditions, type);
  if (c?.status !== ConditionStatus.True) return false;
  return generation === undefined || c.observedGeneration === generation;
}
