import { writeFileSync } from 'node:fs';
import * as yaml from 'js-yaml';

export interface KubeconfigOptions {
  /** The apiserver's URL. */
  readonly server: string;
  /** PEM of the CA that signed the apiserver's serving cert. */
  readonly caPem: string;
  readonly cluster: string;
  readonly user: string;
  readonly context: string;
  /** The context's default namespace, if any. */
  readonly namespace?: string;
  /** The user's credentials, as a kubeconfig spells them (`token`, or `client-certificate-data` and `client-key-data`). */
  readonly credentials: Readonly<Record<string, string>>;
}

/** Writes a kubeconfig of one cluster, one user and one context (the current one), readable by its owner only. */
export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: o.cluster,
          cluster: {
            server: o.server,
            'certificate-authority-data': Buffer.from(o.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: o.user, user: { ...o.credentials } }],
      contexts: [
        {
          name: o.context,
          context: { cluster: o.cluster, user: o.user, ...(o.namespace ? { namespace: o.namespace } : {}) },
        },
      ],
      'current-context': o.context,
    }),
    { mode: 0o600 },
  );
}
