import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import * as yaml from 'js-yaml';
import type { ControlPlane } from './control-plane.ts';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * One request to the apiserver as the admin user, with the body sent exactly as given. The typed
 * client-node models drop fields they rename (a CRD schema's `default` becomes `_default`), so
 * manifests are applied through this instead.
 */
export function kubeRequest(
  cp: ControlPlane,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
  headers: Readonly<Record<string, string>> = {},
): Promise<RawResponse> {
  return send(cp, { cert: cp.admin.certPem, key: cp.admin.keyPem }, method, path, body, contentType, headers);
}

/** One request authenticated by a bearer token alone (a ServiceAccount's), with no client certificate. */
export function kubeRequestWithToken(
  cp: ControlPlane,
  token: string,
  method: string,
  path: string,
  o: {
    readonly body?: string;
    readonly contentType?: string;
    readonly headers?: Readonly<Record<string, string>>;
  } = {},
): Promise<RawResponse> {
  const headers = { authorization: `Bearer ${token}`, ...o.headers };
  return send(cp, {}, method, path, o.body, o.contentType ?? 'application/json', headers);
}

function send(
  cp: ControlPlane,
  clientCert: { readonly cert?: string; readonly key?: string },
  method: string,
  path: string,
  body: string | undefined,
  contentType: string,
  headers: Readonly<Record<string, string>>,
): Promise<RawResponse> {
  const url = new URL(path, cp.server);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        ca: cp.caPem,
        ...clientCert,
        headers: body === undefined ? { ...headers } : { ...headers, 'content-type': contentType },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

async function resourceFor(
  cp: ControlPlane,
  apiVersion: string,
  kind: string,
): Promise<ApiResource & { base: string }> {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const res = await kubeRequest(cp, 'GET', base);
  if (res.status !== 200) throw new Error(`discovery of ${apiVersion} failed: ${res.status} ${res.body}`);
  const list = JSON.parse(res.body) as { resources: ApiResource[] };
  const found = list.resources.find((r) => r.kind === kind && !r.name.includes('/'));
  if (!found) throw new Error(`${apiVersion} serves no kind ${kind}`);
  return { ...found, base };
}

/**
 * Server-side applies every object in `docs` (objects, a YAML string with `---` separators, or a path
 * to a YAML file) and returns the apiserver's view of each. Rejects with the apiserver's message.
 */
export async function kubeApply(
  cp: ControlPlane,
  docs: string | readonly KubeObject[],
  opts: { namespace?: string; fieldManager?: string } = {},
): Promise<KubeObject[]> {
  let objects: readonly KubeObject[];
  if (typeof docs === 'string') {
    const text = docs.includes('\n') ? docs : readFileSync(docs, 'utf8');
    objects = yaml.loadAll(text).filter((d): d is KubeObject => d !== null && typeof d === 'object');
  } else {
    objects = docs;
  }
  const out: KubeObject[] = [];
  for (const obj of objects) {
    const r = await resourceFor(cp, obj.apiVersion, obj.kind);
    const ns = obj.metadata.namespace ?? opts.namespace ?? 'default';
    const path = `${r.base}${r.namespaced ? `/namespaces/${ns}` : ''}/${r.name}/${obj.metadata.name}`;
    const query = `?fieldManager=${encodeURIComponent(opts.fieldManager ?? 'llmobs-harness')}&force=true`;
    const res = await kubeRequest(
      cp,
      'PATCH',
      path + query,
      JSON.stringify(obj),
      'application/apply-patch+yaml',
    );
    if (res.status >= 300) {
      const status = JSON.parse(res.body) as { message?: string };
      throw new Error(`apply ${obj.kind}/${obj.metadata.name}: ${res.status} ${status.message ?? res.body}`);
    }
    out.push(JSON.parse(res.body) as KubeObject);
  }
  return out;
}
