import { selectorMatches } from '../../manifests/selector.ts';
import type { SelectableResource, WebhookSettings } from './config.ts';
import { POD_ANNOTATION, REASON, type Reason } from './constants.ts';

export interface SelectionInput<R extends SelectableResource> {
  /** The namespace of the admission request (a pod being created may not carry it yet). */
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  readonly namespaceAnnotations: Readonly<Record<string, string>>;
  /** The LLMObservability resources of the namespace. */
  readonly resources: readonly R[];
  readonly settings: Pick<WebhookSettings, 'operatorNamespace' | 'excludedNamespaces' | 'excludedPodLabels'>;
}

/** How the pod was chosen: which level of the precedence decided. */
export type SelectedBy = 'pod-annotation' | 'namespace-annotation' | 'selector';

export type Selection<R extends SelectableResource> =
  | {
      readonly selected: true;
      readonly resource: R;
      readonly by: SelectedBy;
      /** Human-readable: which level decided, and which other resources also selected the pod. */
      readonly message: string;
      /** Names of other resources that select the pod too (not used: the pick is deterministic). */
      readonly alsoSelectedBy: readonly string[];
    }
  | {
      readonly selected: false;
      readonly reason: Reason;
      readonly message: string;
      /**
       * The pod or its namespace asked for injection explicitly, so the outcome is written on the pod
       * (status skipped); otherwise the pod is not ours and is left untouched.
       */
      readonly explicit: boolean;
    };

function epoch(ts: string | Date | undefined): number {
  if (ts === undefined) return Number.POSITIVE_INFINITY;
  const t = typeof ts === 'string' ? Date.parse(ts) : ts.getTime();
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Oldest first, then by name: the same pod always gets the same resource, whatever the cache order. */
export function byAgeThenName(a: SelectableResource, b: SelectableResource): number {
  const d = epoch(a.metadata.creationTimestamp) - epoch(b.metadata.creationTimestamp);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

type Directive = { kind: 'unset' } | { kind: 'true' } | { kind: 'false' } | { kind: 'name'; name: string };

function directive(value: string | undefined): Directive {
  const v = value?.trim();
  if (v === undefined || v === '') return { kind: 'unset' };
  if (v.toLowerCase() === 'true') return { kind: 'true' };
  if (v.toLowerCase() === 'false') return { kind: 'false' };
  return { kind: 'name', name: v };
}

function describe(r: SelectableResource, namespace: string): string {
  return `${r.metadata.namespace ?? namespace}/${r.metadata.name}`;
}

/**
 * Decides whether a pod is instrumented and by which LLMObservability. Precedence, highest first:
 *
 * 0. Hard exclusions, which nothing overrides: kube-system and the other excluded namespaces, the
 *    operator's namespace, and pods carrying one of the excluded label sets (the operator's and the
 *    gateway processors' own pods).
 * 1. The pod's llmobs.dev/inject annotation: "false" opts out; "true" opts in; any other value names
 *    the LLMObservability of the namespace to use.
 * 2. The namespace's llmobs.dev/inject annotation, with the same values (a pod-level "true" wins over
 *    a namespace-level "false").
 * 3. The label selectors of the namespace's LLMObservability resources (empty selects every pod).
 *
 * When several resources could apply (several selectors match, or an opt-in "true" with several
 * resources in the namespace; for "true", resources whose selector matches are preferred), the
 * oldest wins, then the first by name, and the others are recorded in the message.
 */
export function selectPod<R extends SelectableResource>(input: SelectionInput<R>): Selection<R> {
  const { namespace, settings } = input;
  if (namespace === settings.operatorNamespace || settings.excludedNamespaces.includes(namespace)) {
    return {
      selected: false,
      reason: REASON.excludedNamespace,
      message: `namespace ${namespace} is never instrumented`,
      explicit: false,
    };
  }
  const excludedBy = settings.excludedPodLabels.find(
    (set) => Object.keys(set).length > 0 && Object.entries(set).every(([k, v]) => input.podLabels[k] === v),
  );
  if (excludedBy) {
    return {
      selected: false,
      reason: REASON.operatorPod,
      message: `pods labelled ${Object.entries(excludedBy)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')} belong to llmobs and are never instrumented`,
      explicit: false,
    };
  }

  const sorted = [...input.resources].sort(byAgeThenName);
  const matching = sorted.filter((r) => selectorMatches(r.spec?.selector, input.podLabels));

  const pick = (candidates: readonly R[], by: SelectedBy, why: string): Selection<R> => {
    const [first, ...rest] = candidates;
    if (!first) throw new Error('pick from an empty list');
    const others = rest.map((r) => r.metadata.name);
    const also =
      others.length > 0
        ? `; also selected by ${others.join(', ')}, using ${first.metadata.name} (oldest, then by name)`
        : '';
    return {
      selected: true,
      resource: first,
      by,
      message: `${why} -> ${describe(first, namespace)}${also}`,
      alsoSelectedBy: others,
    };
  };

  const levels: readonly [SelectedBy, string, Directive][] = [
    ['pod-annotation', 'pod', directive(input.podAnnotations[POD_ANNOTATION.inject])],
    [
      'namespace-annotation',
      `namespace ${namespace}`,
      directive(input.namespaceAnnotations[POD_ANNOTATION.inject]),
    ],
  ];
  for (const [by, where, d] of levels) {
    switch (d.kind) {
      case 'unset':
        continue;
      case 'false':
        return {
          selected: false,
          reason: REASON.optedOut,
          message: `${where} annotated ${POD_ANNOTATION.inject}=false`,
          explicit: false,
        };
      case 'true': {
        if (sorted.length === 0) {
          return {
            selected: false,
            reason: REASON.noLLMObservability,
            message: `${where} annotated ${POD_ANNOTATION.inject}=true, but namespace ${namespace} has no LLMObservability`,
            explicit: true,
          };
        }
        return pick(
          matching.length > 0 ? matching : sorted,
          by,
          `${where} annotated ${POD_ANNOTATION.inject}=true`,
        );
      }
      case 'name': {
        const named = sorted.find((r) => r.metadata.name === d.name);
        if (!named) {
          return {
            selected: false,
            reason: REASON.llmObservabilityNotFound,
            message: `${where} annotated ${POD_ANNOTATION.inject}=${d.name}, but namespace ${namespace} has no LLMObservability named so`,
            explicit: true,
          };
        }
        return pick([named], by, `${where} annotated ${POD_ANNOTATION.inject}=${d.name}`);
      }
    }
  }

  if (sorted.length === 0) {
    return {
      selected: false,
      reason: REASON.noLLMObservability,
      message: `namespace ${namespace} has no LLMObservability`,
      explicit: false,
    };
  }
  if (matching.length === 0) {
    return {
      selected: false,
      reason: REASON.notSelected,
      message: `no LLMObservability selector in ${namespace} matches the pod's labels`,
      explicit: false,
    };
  }
  return pick(matching, 'selector', 'matched the label selector');
}
