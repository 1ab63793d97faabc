import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import type { ControlPlane } from './control-plane.ts';
import { freePort } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { goTool } from './tools.ts';

/** Nodes carrying this annotation are the ones the harness's kwok manages. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface Kwok {
  /** Creates a fake Node that kwok keeps Ready; Pods bound to it become Running with an IP. */
  addNode(name: string, labels?: Record<string, string>): Promise<V1Node>;
  stop(): Promise<void>;
}

/**
 * The kwok controller against `cp`: it plays kubelet for fake Nodes (heartbeats, Ready status) and for
 * Pods bound to them (Running, Ready, pod IPs), so tests see pod status without any container runtime.
 */
export async function startKwok(cp: ControlPlane): Promise<Kwok> {
  const bin = await goTool('kwok');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-kwok-'));
  const proc = ManagedProcess.start({
    name: 'kwok',
    logDir: dir,
    command: bin,
    args: [
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      // Keep pod IPs out of the control plane's service range (10.0.0.0/24).
      '--cidr=10.244.0.0/16',
      '--node-ip=127.0.0.1',
      `--server-address=127.0.0.1:${port}`,
      `--config=${join(import.meta.dirname, 'fixtures', 'kwok-stages.yaml')}`,
    ],
    // An empty HOME keeps a developer's own ~/.kwok/kwok.yaml out of the tests.
    env: { ...process.env, HOME: dir },
  });
  await proc.waitUntil(() => httpOk(`http://127.0.0.1:${port}/healthz`), 'kwok /healthz', 30_000);
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  return {
    async addNode(name, labels = {}) {
      await core.createNode({
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
            labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok', ...labels },
          },
          spec: {},
        },
      });
      // The TaintNodesByCondition admission plugin taints every new Node not-ready; the node lifecycle
      // controller would lift it once kwok reports Ready, but the harness runs without that controller
      // (it would evict pods whenever kwok's heartbeats lag), so lift it here.
      return core.patchNode({ name, body: [{ op: 'add', path: '/spec/taints', value: [] }] });
    },
    stop: () => proc.stop(),
  };
}
