import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeApply, kubeRequest } from './kube-apply.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createCA, createKeyPair, issueCert } from './pki.ts';
import { freePorts } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { goTool } from './tools.ts';

export interface ControlPlaneOptions {
  /** Run kube-controller-manager too: Deployments create Pods, owner references are garbage-collected. */
  readonly controllerManager?: boolean;
  /** Run kube-scheduler too: Pods are bound to Nodes (e.g. kwok's fake ones). */
  readonly scheduler?: boolean;
  /**
   * CRD manifests (paths) to install before the controller manager starts, as a chart would: its
   * garbage collector then knows the kinds from the start instead of after its 30 s discovery resync.
   */
  readonly crds?: readonly string[];
}

export interface ControlPlane {
  /** Admin kubeconfig (user `admin` in `system:masters`, client-cert auth). */
  readonly kubeconfigPath: string;
  readonly server: string;
  /** PEM of the CA that signed the apiserver's serving cert. */
  readonly caPem: string;
  /** The admin user's client certificate (system:masters). */
  readonly admin: { readonly certPem: string; readonly keyPem: string };
  readonly dir: string;
  kubeConfig(): KubeConfig;
  /** Stops and starts kube-apiserver against the same etcd, as in an apiserver upgrade or crash. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

interface Files {
  readonly dir: string;
  readonly pki: string;
  readonly kubeconfig: string;
  readonly admin: { readonly certPem: string; readonly keyPem: string };
  readonly caPem: string;
}

async function writePki(dir: string, apiPort: number): Promise<Files> {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const servingCa = await createCA('llmobs-test-serving-ca');
  const serving = await issueCert(servingCa, {
    commonName: 'localhost',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    usage: 'server',
  });
  const clientCa = await createCA('llmobs-test-client-ca');
  const admin = await issueCert(clientCa, {
    commonName: 'admin',
    organizations: ['system:masters'],
    usage: 'client',
  });
  const sa = await createKeyPair();
  const files: Record<string, string> = {
    'serving-ca.crt': servingCa.certPem,
    'serving-ca.key': servingCa.keyPem,
    'apiserver.crt': serving.certPem,
    'apiserver.key': serving.keyPem,
    'client-ca.crt': clientCa.certPem,
    'admin.crt': admin.certPem,
    'admin.key': admin.keyPem,
    'sa.pub': sa.publicPem,
    'sa.key': sa.privatePem,
  };
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(pki, name), pem, { mode: 0o600 });

  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, {
    server: `https://127.0.0.1:${apiPort}`,
    caPem: servingCa.certPem,
    cluster: 'llmobs-test',
    user: 'admin',
    context: 'llmobs-test',
    credentials: {
      'client-certificate-data': Buffer.from(admin.certPem).toString('base64'),
      'client-key-data': Buffer.from(admin.keyPem).toString('base64'),
    },
  });
  return { dir, pki, kubeconfig, admin, caPem: servingCa.certPem };
}

/** GET `path` on the apiserver as admin; true on 2xx. */
function apiOk(port: number, path: string, f: Files): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: f.caPem,
        cert: f.admin.certPem,
        key: f.admin.keyPem,
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 300);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitEstablished(cp: ControlPlane, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await kubeRequest(
      cp,
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    const crd = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`CRD ${name} not Established`);
}

/**
 * etcd + kube-apiserver on loopback, configured the way controller-runtime's envtest runs them
 * (RBAC, client-cert admin in system:masters, ServiceAccount admission off because no token
 * controller runs by default), optionally with kube-controller-manager and kube-scheduler.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const [etcdBin, apiBin] = await Promise.all([goTool('etcd'), goTool('kube-apiserver')]);
  const kcmBin = opts.controllerManager ? await goTool('kube-controller-manager') : undefined;
  const schedBin = opts.scheduler ? await goTool('kube-scheduler') : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-cp-'));
  const [etcdPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const f = await writePki(dir, apiPort);
  const procs: ManagedProcess[] = [];
  const stopAll = async () => {
    for (const p of [...procs].reverse()) await p.stop();
  };

  try {
    const etcdData = join(dir, 'etcd-data');
    mkdirSync(etcdData, { mode: 0o700 });
    const etcd = ManagedProcess.start({
      name: 'etcd',
      logDir: dir,
      command: etcdBin,
      args: [
        `--data-dir=${etcdData}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
    });
    procs.push(etcd);
    await etcd.waitUntil(() => httpOk(`http://127.0.0.1:${etcdPort}/health`), 'etcd /health', 20_000);

    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--cert-dir=${f.pki}`,
      `--tls-cert-file=${join(f.pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(f.pki, 'apiserver.key')}`,
      `--client-ca-file=${join(f.pki, 'client-ca.crt')}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://127.0.0.1:${apiPort}/`,
      `--service-account-key-file=${join(f.pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(f.pki, 'sa.key')}`,
    ];
    let api = ManagedProcess.start({ name: 'kube-apiserver', logDir: dir, command: apiBin, args: apiArgs });
    procs.push(api);
    await api.waitUntil(() => apiOk(apiPort, '/readyz', f), 'kube-apiserver /readyz', 60_000);

    const server = `https://127.0.0.1:${apiPort}`;
    const cp: ControlPlane = {
      kubeconfigPath: f.kubeconfig,
      server,
      caPem: f.caPem,
      admin: f.admin,
      dir,
      kubeConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(f.kubeconfig);
        return kc;
      },
      async restartApiServer() {
        await api.stop();
        const next = ManagedProcess.start({
          name: 'kube-apiserver',
          logDir: dir,
          command: apiBin,
          args: apiArgs,
        });
        procs[procs.indexOf(api)] = next;
        api = next;
        await api.waitUntil(
          () => apiOk(apiPort, '/readyz', f),
          'kube-apiserver /readyz after restart',
          60_000,
        );
      },
      async stop() {
        await stopAll();
        if (!process.env.LLMOBS_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
      },
    };
    for (const path of opts.crds ?? []) {
      for (const crd of await kubeApply(cp, path)) await waitEstablished(cp, crd.metadata.name);
    }
    if (kcmBin) {
      const kcm = ManagedProcess.start({
        name: 'kube-controller-manager',
        logDir: dir,
        command: kcmBin,
        args: [
          `--kubeconfig=${f.kubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          `--service-account-private-key-file=${join(f.pki, 'sa.key')}`,
          `--root-ca-file=${join(f.pki, 'serving-ca.crt')}`,
          '--use-service-account-credentials=false',
          // No cloud, no node lifecycle: kwok reports node health, and evicting its pods would only add noise.
          '--controllers=*,-nodelifecycle,-node-ipam-controller,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
        ],
      });
      procs.push(kcm);
    }
    if (schedBin) {
      const sched = ManagedProcess.start({
        name: 'kube-scheduler',
        logDir: dir,
        command: schedBin,
        args: [
          `--kubeconfig=${f.kubeconfig}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          `-v=${process.env.LLMOBS_KUBE_V ?? '0'}`,
        ],
      });
      procs.push(sched);
    }

    return cp;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
