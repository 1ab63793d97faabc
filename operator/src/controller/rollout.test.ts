import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Candidate,
  crashingPod,
  outdatedOwners,
  type PauseInput,
  pauseDecision,
  planRollout,
  type RolloutPod,
  selectorMatches,
  TokenBucket,
} from './rollout.ts';

const T0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function pod(
  name: string,
  hash: string | undefined,
  owner?: [string, string],
  more: Partial<RolloutPod> = {},
) {
  const th = owner?.[0] === 'ReplicaSet' ? owner[1].split('-').pop() : undefined;
  return {
    name,
    configHash: hash,
    labels: { app: name.split('-')[0] ?? '', ...(th ? { 'pod-template-hash': th } : {}) },
    ...(owner ? { ownerReferences: [{ kind: owner[0], name: owner[1], controller: true }] } : {}),
    ...more,
  } satisfies RolloutPod;
}

test('outdatedOwners: the controllers of outdated pods, once each, ReplicaSets resolved by name', () => {
  const cases: { name: string; pods: RolloutPod[]; want: string[] }[] = [
    { name: 'nothing outdated', pods: [pod('web-1', 'h', ['ReplicaSet', 'web-7f9c'])], want: [] },
    {
      name: 'deployment pods, two of one ReplicaSet',
      pods: [
        pod('web-1', 'old', ['ReplicaSet', 'web-7f9c']),
        pod('web-2', 'old', ['ReplicaSet', 'web-7f9c']),
      ],
      want: ['ReplicaSet/web-7f9c→web'],
    },
    {
      name: 'statefulset, daemonset, sorted; missing hash counts as outdated',
      pods: [
        pod('ds-x', undefined, ['DaemonSet', 'agent']),
        pod('db-0', 'old', ['StatefulSet', 'db']),
        pod('db-1', 'h', ['StatefulSet', 'db']),
      ],
      want: ['DaemonSet/agent', 'StatefulSet/db'],
    },
    {
      name: 'jobs, bare pods and non-controller owners are left out',
      pods: [
        pod('job-1', 'old', ['Job', 'migrate']),
        pod('bare', 'old'),
        { name: 'x', configHash: 'old', ownerReferences: [{ kind: 'StatefulSet', name: 'db' }] },
      ],
      want: [],
    },
    {
      name: 'a ReplicaSet not named after its pod-template-hash has no Deployment',
      pods: [
        {
          name: 'r',
          configHash: 'old',
          labels: {},
          ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', controller: true }],
        },
      ],
      want: ['ReplicaSet/rs→'],
    },
  ];
  for (const c of cases) {
    const got = outdatedOwners(c.pods, 'h').map((o) =>
      o.kind === 'ReplicaSet' ? `${o.kind}/${o.name}→${o.deployment ?? ''}` : `${o.kind}/${o.name}`,
    );
    assert.deepEqual(got, c.want, c.name);
  }
});

test('selectorMatches needs a non-empty matchLabels on the pod', () => {
  assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, { app: 'web', x: '1' }), true);
  assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, { app: 'other' }), false);
  assert.equal(selectorMatches({}, { app: 'web' }), false);
  assert.equal(selectorMatches(undefined, { app: 'web' }), false);
});

test('crashingPod: only pods created since the last restart, CrashLoopBackOff or repeated restarts', () => {
  const since = at(0);
  const cases: { name: string; pods: RolloutPod[]; since: Date | undefined; want: string | undefined }[] = [
    {
      name: 'no restart yet',
      pods: [
        pod('a', 'h', undefined, {
          createdAt: at(5).toISOString(),
          containers: [{ name: 'c', waitingReason: 'CrashLoopBackOff' }],
        }),
      ],
      since: undefined,
      want: undefined,
    },
    {
      name: 'new pod in CrashLoopBackOff',
      pods: [
        pod('a', 'h', undefined, {
          createdAt: at(5).toISOString(),
          containers: [{ name: 'c', waitingReason: 'CrashLoopBackOff' }],
        }),
      ],
      since,
      want: 'a: container c is in CrashLoopBackOff',
    },
    {
      name: 'old pod crashing does not count',
      pods: [
        pod('a', 'h', undefined, {
          createdAt: at(-5).toISOString(),
          containers: [{ name: 'c', waitingReason: 'CrashLoopBackOff' }],
        }),
      ],
      since,
      want: undefined,
    },
    {
      name: 'restarted 3 times and not ready',
      pods: [
        pod('b', 'h', undefined, {
          createdAt: at(1).toISOString(),
          containers: [{ name: 'c', restartCount: 3, ready: false }],
        }),
      ],
      since,
      want: 'b: container c restarted 3 times',
    },
    {
      name: 'restarted 3 times but ready again: the crash cleared',
      pods: [
        pod('b', 'h', undefined, {
          createdAt: at(1).toISOString(),
          containers: [{ name: 'c', restartCount: 3, ready: true }],
        }),
      ],
      since,
      want: undefined,
    },
    {
      name: 'two restarts, still starting',
      pods: [
        pod('b', 'h', undefined, {
          createdAt: at(1).toISOString(),
          containers: [{ name: 'c', restartCount: 2, waitingReason: 'ContainerCreating' }],
        }),
      ],
      since,
      want: undefined,
    },
  ];
  for (const c of cases) {
    const got = crashingPod(c.pods, c.since);
    assert.equal(got ? `${got.pod}: ${got.why}` : undefined, c.want, c.name);
  }
});

test('pauseDecision: pause on crashes, lifted by a new generation or when they clear', () => {
  const crashing = { pod: 'web-2', why: 'container c is in CrashLoopBackOff' };
  const cases: { name: string; in: PauseInput; paused: boolean; reason: string }[] = [
    {
      name: 'no crash',
      in: { pauseOnCrashLoop: true, crashing: undefined, previous: undefined, generation: 2 },
      paused: false,
      reason: 'NoCrashingPods',
    },
    {
      name: 'crash',
      in: { pauseOnCrashLoop: true, crashing, previous: undefined, generation: 2 },
      paused: true,
      reason: 'NewPodsCrashing',
    },
    {
      name: 'disabled',
      in: { pauseOnCrashLoop: false, crashing, previous: undefined, generation: 2 },
      paused: false,
      reason: 'PauseDisabled',
    },
    {
      name: 'still crashing at the same generation',
      in: {
        pauseOnCrashLoop: true,
        crashing,
        previous: { status: 'True', observedGeneration: 2 },
        generation: 2,
      },
      paused: true,
      reason: 'NewPodsCrashing',
    },
    {
      name: 'the resource changed since the pause',
      in: {
        pauseOnCrashLoop: true,
        crashing,
        previous: { status: 'True', observedGeneration: 2 },
        generation: 3,
      },
      paused: false,
      reason: 'ResourceChanged',
    },
    {
      name: 'crash cleared',
      in: {
        pauseOnCrashLoop: true,
        crashing: undefined,
        previous: { status: 'True', observedGeneration: 2 },
        generation: 2,
      },
      paused: false,
      reason: 'NoCrashingPods',
    },
  ];
  for (const c of cases) {
    const d = pauseDecision(c.in);
    assert.deepEqual([d.paused, d.reason], [c.paused, c.reason], c.name);
  }
  assert.match(pauseDecision(cases[1]?.in as PauseInput).message, /web-2/);
});

test('TokenBucket: full at start, refills at perMinute per minute, capacity perMinute', () => {
  const b = new TokenBucket(2, at(0));
  assert.equal(b.take(at(0), 2), true);
  assert.equal(b.take(at(0), 2), true);
  assert.equal(b.take(at(0), 2), false);
  assert.equal(b.msUntilNext(at(0), 2), 30_000);
  assert.equal(b.take(at(29), 2), false);
  assert.equal(b.take(at(30), 2), true);
  // A long idle time does not bank more than a minute's worth.
  assert.equal(b.msUntilNext(at(3600), 2), 0);
  assert.equal(b.take(at(3600), 2), true);
  assert.equal(b.take(at(3600), 2), true);
  assert.equal(b.take(at(3600), 2), false);
  // A lower rate caps the tokens at once.
  const c = new TokenBucket(10, at(0));
  assert.equal(c.take(at(0), 1), true);
  assert.equal(c.take(at(0), 1), false);
});

test('planRollout: each workload once per hash, rate-limited, nothing while paused', () => {
  const cand = (name: string, restartedForHash?: string): Candidate => ({
    ref: { kind: 'Deployment', name },
    restartedForHash,
  });
  const all = [cand('a'), cand('b', 'h'), cand('c', 'older'), cand('d')];

  const b = new TokenBucket(2, at(0));
  const p1 = planRollout(all, 'h', false, b, 2, at(0));
  assert.deepEqual(
    p1.restart.map((r) => r.name),
    ['a', 'c'],
    'b was restarted for h already',
  );
  assert.deepEqual(
    p1.pending.map((r) => r.name),
    ['d'],
  );
  assert.equal(p1.requeueAfterMs, 30_000);

  const p2 = planRollout(
    [cand('a', 'h'), cand('b', 'h'), cand('c', 'h'), cand('d')],
    'h',
    false,
    b,
    2,
    at(30),
  );
  assert.deepEqual(
    p2.restart.map((r) => r.name),
    ['d'],
  );
  assert.deepEqual(p2.pending, []);
  assert.equal(p2.requeueAfterMs, undefined);

  const paused = planRollout(all, 'h', true, new TokenBucket(2, at(0)), 2, at(0));
  assert.deepEqual(paused.restart, []);
  assert.deepEqual(
    paused.pending.map((r) => r.name),
    ['a', 'c', 'd'],
  );
  assert.equal(paused.requeueAfterMs, undefined);
});
