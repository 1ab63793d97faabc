import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';

export const KUBE_REQUESTS_TOTAL = 'llmobs_operator_kube_requests_total';

/** How one apiserver request is counted: the Kubernetes verb and the resource it addresses. */
export interface RequestKind {
  /** get, list, watch, create, update, patch, delete, deletecollection; or the HTTP method lower-cased. */
  readonly verb: string;
  /** `pods`, `events`, `llmobservabilities.llmobs.dev`, `leases.coordination.k8s.io`, with `/subresource`. */
  readonly resource: string;
}

const METHOD_VERB: Readonly<Record<string, string>> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
};

/**
 * The verb and resource of a request URL, as the apiserver's own request info reads it:
 * `/api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]]` and `/apis/GROUP/VERSION/...`. A path outside the
 * resource API (`/version`, discovery) counts as resource `nonresource`.
 */
export function requestKind(method: string, url: string): RequestKind {
  const u = new URL(url, 'https://apiserver.invalid');
  const parts = u.pathname.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else return { verb: method.toLowerCase(), resource: 'nonresource' };
  // A namespace itself is /api/v1/namespaces/NAME; objects in one are /namespaces/NS/RESOURCE/...
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  if (rest.length === 0) return { verb: method.toLowerCase(), resource: 'nonresource' };
  const [plural, name, sub] = rest as [string, string | undefined, string | undefined];
  const resource = `${plural}${group ? `.${group}` : ''}${sub ? `/${sub}` : ''}`;
  const upper = method.toUpperCase();
  let verb: string;
  if (upper === 'GET') {
    if (u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1') verb = 'watch';
    else verb = name === undefined ? 'list' : 'get';
  } else if (upper === 'DELETE') verb = name === undefined ? 'deletecollection' : 'delete';
  else verb = METHOD_VERB[upper] ?? method.toLowerCase();
  return { verb, resource };
}

/**
 * Counts every request `kc` authenticates, by verb and resource, in `llmobs_operator_kube_requests_total`.
 * client-node's generated APIs, its `Watch` and runtime/kube-request.ts all pass each request through
 * `applySecurityAuthentication` once, so wrapping it on this one KubeConfig sees all of the operator's
 * apiserver traffic (a watch counts once, when it opens). Call it before making any API client.
 */
export function countKubeRequests(kc: KubeConfig, registry: Registry): Counter<'verb' | 'resource'> {
  const counter =
    (registry.getSingleMetric(KUBE_REQUESTS_TOTAL) as Counter<'verb' | 'resource'> | undefined) ??
    new Counter({
      name: KUBE_REQUESTS_TOTAL,
      help: 'Requests the operator sent to the apiserver, by verb and resource (a watch counts when it opens).',
      labelNames: ['verb', 'resource'],
      registers: [registry],
    });
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = (ctx) => {
    counter.inc({ ...requestKind(ctx.getHttpMethod(), ctx.getUrl()) });
    return authenticate(ctx);
  };
  return counter;
}
