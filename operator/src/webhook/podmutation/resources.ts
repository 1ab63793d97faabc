import type { V1Container, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import type { WebhookSettings } from './config.ts';

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("100m", "1.5", "128Mi", "1e3", 2) in base units; undefined if malformed. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const factor = SUFFIX[m[3] ?? ''];
  return factor === undefined ? undefined : base * factor;
}

export function formatCpu(cores: number): string {
  return `${Math.max(1, Math.ceil(cores * 1000 - 1e-9))}m`;
}

export function formatMemory(bytes: number): string {
  const mi = bytes / 2 ** 20;
  if (Number.isInteger(mi)) return `${mi}Mi`;
  return String(Math.ceil(bytes));
}

type Resource = 'cpu' | 'memory';
const RESOURCES: readonly Resource[] = ['cpu', 'memory'];
const format: Record<Resource, (n: number) => string> = { cpu: formatCpu, memory: formatMemory };

function get(rr: V1ResourceRequirements | undefined, kind: 'requests' | 'limits', r: Resource) {
  return parseQuantity(rr?.[kind]?.[r] as string | number | undefined);
}

/** Sum over the containers, or undefined when one of them does not set it (the pod is then unbounded). */
function sum(containers: readonly V1Container[], pick: (c: V1Container) => number | undefined) {
  let total = 0;
  for (const c of containers) {
    const v = pick(c);
    if (v === undefined) return undefined;
    total += v;
  }
  return total;
}

/**
 * Resources for the bundle init containers, taken from the pod's own so instrumenting never changes its
 * scheduling or QoS class (Datadog's rule): an init container's request never exceeds what the app
 * containers already request together, its limit never exceeds their summed limit, a BestEffort pod gets
 * no resources at all, and a Guaranteed pod gets requests equal to limits.
 */
export function initContainerResources(
  appContainers: readonly V1Container[],
  defaults: WebhookSettings['initContainerResources'],
): V1ResourceRequirements | undefined {
  const hasAny = appContainers.some(
    (c) =>
      Object.keys(c.resources?.requests ?? {}).length > 0 ||
      Object.keys(c.resources?.limits ?? {}).length > 0,
  );
  if (!hasAny) return undefined;
  const guaranteed = appContainers.every((c) =>
    RESOURCES.every((r) => {
      const limit = get(c.resources, 'limits', r);
      const request = get(c.resources, 'requests', r) ?? limit;
      return limit !== undefined && request === limit;
    }),
  );
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const r of RESOURCES) {
    const defLimit = parseQuantity(defaults.limits[r]) ?? 0;
    const defRequest = parseQuantity(defaults.requests[r]) ?? 0;
    const limitSum = sum(appContainers, (c) => get(c.resources, 'limits', r));
    // A container's request defaults to its limit when only the limit is set.
    const requestSum = sum(
      appContainers,
      (c) => get(c.resources, 'requests', r) ?? get(c.resources, 'limits', r) ?? 0,
    );
    const limit = limitSum === undefined ? defLimit : Math.min(defLimit, limitSum);
    const request = guaranteed ? limit : Math.min(defRequest, requestSum ?? defRequest, limit);
    limits[r] = format[r](limit);
    if (request > 0) requests[r] = format[r](request);
  }
  return { requests, limits };
}

/** Why a container is too small to carry an SDK, or undefined when it is large enough (or unbounded). */
export function tooSmall(
  container: V1Container,
  minimum: WebhookSettings['minimumContainerLimits'],
): string | undefined {
  for (const r of RESOURCES) {
    const limit = get(container.resources, 'limits', r);
    const min = parseQuantity(minimum[r]);
    if (limit !== undefined && min !== undefined && limit < min) {
      return `${r} limit ${String(container.resources?.limits?.[r])} is below the ${minimum[r]} minimum`;
    }
  }
  return undefined;
}

/**
 * The bundle init container runs as the same user as the app (so the copied files belong to it) but
 * with nothing else: restricted-PSA compliant whatever the app container is allowed.
 */
export function initContainerSecurityContext(app: V1Container | undefined): V1SecurityContext {
  const sc = app?.securityContext ?? {};
  return {
    ...(sc.runAsUser !== undefined ? { runAsUser: sc.runAsUser } : {}),
    ...(sc.runAsGroup !== undefined ? { runAsGroup: sc.runAsGroup } : {}),
    runAsNonRoot: sc.runAsUser !== 0,
    ...(sc.seLinuxOptions ? { seLinuxOptions: sc.seLinuxOptions } : {}),
    seccompProfile: sc.seccompProfile ?? { type: 'RuntimeDefault' },
    ...(sc.appArmorProfile ? { appArmorProfile: sc.appArmorProfile } : {}),
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}
