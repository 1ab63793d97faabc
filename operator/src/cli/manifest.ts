import { createHash } from 'node:crypto';
import type { V1ObjectMeta, V1OwnerReference, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';

/** One pod to preview: a Pod of the manifest, or the pod a workload's template would create. */
export interface PodTarget {
  /** `Kind/name` of the document it came from, e.g. `Deployment/web`. */
  readonly source: string;
  /** The pod as the workload's controller would submit it (owner reference, generated name). */
  readonly pod: V1Pod;
  /** The document's namespace, when it has one. */
  readonly namespace?: string;
}

/** A document of the manifest that cannot be previewed, and why (reported, never fatal on its own). */
export interface Skipped {
  readonly source: string;
  readonly why: string;
}

export const WORKLOAD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicaSet',
] as const;

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metaOf(doc: Obj): V1ObjectMeta {
  return isObject(doc.metadata) ? (doc.metadata as V1ObjectMeta) : {};
}

/** A stable stand-in for the Deployment controller's pod-template-hash (10 characters, like the real one). */
function templateHash(template: unknown): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(JSON.stringify(template)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length];
  return out;
}

function podFromTemplate(
  template: V1PodTemplateSpec,
  namespace: string | undefined,
  owner: V1OwnerReference,
  naming: { name?: string; generateName?: string },
  extraLabels: Readonly<Record<string, string>> = {},
): V1Pod {
  const tm = template.metadata ?? {};
  const labels = { ...tm.labels, ...extraLabels };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...tm,
      ...naming,
      ...(namespace ? { namespace } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ownerReferences: [owner],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
}

function ownerRef(apiVersion: string, kind: string, name: string): V1OwnerReference {
  return { apiVersion, kind, name, uid: '', controller: true, blockOwnerDeletion: true };
}

/** The pod template of a workload document, or why there is none. */
function templateOf(kind: string, spec: Obj): V1PodTemplateSpec | undefined {
  if (kind === 'CronJob') {
    const jt = spec.jobTemplate;
    const js = isObject(jt) && isObject(jt.spec) ? jt.spec : undefined;
    return js && isObject(js.template) ? (js.template as V1PodTemplateSpec) : undefined;
  }
  return isObject(spec.template) ? (spec.template as V1PodTemplateSpec) : undefined;
}

/**
 * The pods of parsed YAML documents: Pods as they are, workloads as the pod their template would
 * create (with the owner reference their controller sets, so the workload names the service), the
 * items of a `List`. Empty documents are ignored; anything else is returned in `skipped`.
 */
export function podsOf(docs: readonly unknown[]): { targets: PodTarget[]; skipped: Skipped[] } {
  const targets: PodTarget[] = [];
  const skipped: Skipped[] = [];
  const visit = (doc: unknown, index: string): void => {
    if (doc === null || doc === undefined) return;
    if (!isObject(doc)) {
      skipped.push({ source: `document ${index}`, why: 'is not a Kubernetes object' });
      return;
    }
    const kind = typeof doc.kind === 'string' ? doc.kind : '';
    const meta = metaOf(doc);
    const name = meta.name ?? '';
    const source = `${kind || 'document'}/${name || index}`;
    if (kind === 'List' && Array.isArray(doc.items)) {
      for (const [i, item] of doc.items.entries()) visit(item, `${index}.${i + 1}`);
      return;
    }
    if (kind === 'Pod') {
      targets.push({
        source,
        pod: structuredClone(doc) as V1Pod,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
      });
      return;
    }
    if (!(WORKLOAD_KINDS as readonly string[]).includes(kind)) {
      skipped.push({ source, why: `kind ${kind || '(none)'} has no pod template` });
      return;
    }
    const spec = isObject(doc.spec) ? doc.spec : {};
    const template = templateOf(kind, spec);
    if (!template) {
      skipped.push({
        source,
        why: `has no pod template (spec${kind === 'CronJob' ? '.jobTemplate.spec' : ''}.template)`,
      });
      return;
    }
    const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : 'apps/v1';
    const ns = meta.namespace;
    let pod: V1Pod;
    switch (kind) {
      case 'Deployment': {
        // The Deployment controller creates a ReplicaSet <name>-<hash> whose pods carry the hash label.
        const hash = templateHash(template);
        pod = podFromTemplate(
          template,
          ns,
          ownerRef('apps/v1', 'ReplicaSet', `${name}-${hash}`),
          { generateName: `${name}-${hash}-` },
          { 'pod-template-hash': hash },
        );
        break;
      }
      case 'StatefulSet':
        pod = podFromTemplate(template, ns, ownerRef(apiVersion, kind, name), { name: `${name}-0` });
        break;
      case 'CronJob': {
        // A CronJob's Jobs are named <cronjob>-<scheduled minute since the epoch>.
        const job = `${name}-${Math.floor(Date.UTC(2026, 0, 1) / 60_000)}`;
        pod = podFromTemplate(template, ns, ownerRef('batch/v1', 'Job', job), { generateName: `${job}-` });
        break;
      }
      default:
        pod = podFromTemplate(template, ns, ownerRef(apiVersion, kind, name), { generateName: `${name}-` });
    }
    targets.push({ source, pod, ...(ns ? { namespace: ns } : {}) });
  };
  for (const [i, d] of docs.entries()) visit(d, String(i + 1));
  return { targets, skipped };
}
