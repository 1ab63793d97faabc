import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
} from '@kubernetes/client-node';

export interface KubeRequestOptions {
  readonly method?: HttpMethod;
  /** Absolute API path, e.g. `/apis/coordination.k8s.io/v1/namespaces/ns/leases/name`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly contentType?: string;
  /** Aborts the request (client-node's generated APIs offer no typed way to pass one). */
  readonly signal?: AbortSignal;
}

const http = new IsomorphicFetchHttpLibrary();

/**
 * One JSON request to the apiserver of `kc`'s current context, with its authentication, through the
 * same HTTP library client-node's generated APIs use. Objects come back exactly as the apiserver wrote
 * them (date fields stay RFC 3339 strings: no ObjectSerializer pass). A non-2xx answer throws the same
 * `ApiException` the generated APIs throw (`code`, string `body`), so errors.ts reads both alike.
 */
export async function kubeRequest<T>(kc: KubeConfig, opts: KubeRequestOptions): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server + opts.path);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  const method = opts.method ?? HttpMethod.GET;
  const ctx = new RequestContext(url.toString(), method);
  ctx.setHeaderParam('Accept', 'application/json');
  if (opts.body !== undefined) {
    ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
    ctx.setBody(JSON.stringify(opts.body));
  }
  if (opts.signal !== undefined) ctx.setSignal(opts.signal);
  await kc.applySecurityAuthentication(ctx);
  const res = await http.send(ctx).toPromise();
  const text = await res.body.text();
  if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
    throw new ApiException<string>(res.httpStatusCode, `${method} ${opts.path}`, text, res.headers);
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
