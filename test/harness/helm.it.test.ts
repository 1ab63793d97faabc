import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { versions } from './cache.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { helm } from './helm.ts';

const chart = join(import.meta.dirname, 'fixtures', 'hello-chart');

test('helm reports the pinned version it was built from', async () => {
  const { stdout } = await helm(['version', '--short']);
  assert.match(stdout, new RegExp(`^${(versions().HELM_VERSION ?? 'unset').replaceAll('.', '\\.')}`));
});

test('helm template sees the pinned Kubernetes minor, so kubeVersion constraints pass', async () => {
  const { stdout } = await helm(['template', 'demo', chart, '--set', 'greeting=hi']);
  const cm = yaml.load(stdout) as { data: { greeting: string; kubeVersion: string } };
  assert.equal(cm.data.greeting, 'hi');
  const minor = versions().K8S_VERSION?.split('.')[1];
  assert.match(cm.data.kubeVersion, new RegExp(`^v1\\.${minor}\\.`));
});

test('a helm failure surfaces helm’s own error message', async () => {
  await assert.rejects(
    helm(['template', 'demo', chart, '--set-json', 'greeting={"a":']),
    /helm template demo .* failed \(exit 1\): Error:/,
  );
});

describe('helm against the test control plane', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  test('installs a release whose objects appear in the apiserver, and uninstalls it', async () => {
    await helm(['install', 'demo', chart, '--namespace', 'default', '--wait', '--timeout', '60s'], {
      kubeconfig: cp.kubeconfigPath,
    });
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'demo-greeting' });
    assert.equal(cm.data?.greeting, 'hello');
    assert.equal(cm.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    assert.equal(cm.metadata?.annotations?.['meta.helm.sh/release-name'], 'demo');

    const { stdout } = await helm(['list', '--namespace', 'default', '--output', 'json'], {
      kubeconfig: cp.kubeconfigPath,
    });
    const releases = JSON.parse(stdout) as { name: string; status: string }[];
    assert.deepEqual(
      releases.map((r) => [r.name, r.status]),
      [['demo', 'deployed']],
    );

    await helm(['uninstall', 'demo', '--namespace', 'default', '--wait'], { kubeconfig: cp.kubeconfigPath });
    await assert.rejects(
      core.readNamespacedConfigMap({ namespace: 'default', name: 'demo-greeting' }),
      /404|not found/i,
    );
  });
});
