import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { EffectiveInjectionConfig } from './config.ts';
import { OPENINFERENCE_HIDE } from './content-capture.ts';
import { envMutator } from './env.ts';
import { conflictsOf, type MutationContext } from './mutator.ts';
import { deploymentPod, envOf, injectionConfig, settings } from './testdata.ts';

function ctx(config: Partial<EffectiveInjectionConfig> = {}): MutationContext {
  return { namespace: 'team-a', config: injectionConfig(config), settings, selection: 'test' };
}

function withEnv(env: V1EnvVar[], annotations?: Record<string, string>): V1Pod {
  const pod = deploymentPod(annotations ? { annotations } : {});
  const app = pod.spec?.containers[0];
  if (app) app.env = env;
  return pod;
}

function names(pod: V1Pod, container = 'app'): string[] {
  return (pod.spec?.containers.find((c) => c.name === container)?.env ?? []).map((e) => e.name);
}

describe('envMutator never overwrites what the container sets', () => {
  test('keeps a user endpoint and its protocol, records the conflict, adds neither of the pair', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://mine:4317' }]),
      ctx(),
    );
    assert.equal(envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://mine:4317');
    assert.equal(envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_PROTOCOL'), undefined);
    assert.deepEqual(conflictsOf(pod), [
      'app: OTEL_EXPORTER_OTLP_ENDPOINT set by the container, kept (llmobs: http://llmobs-processor-obs.team-a.svc:4318)',
    ]);
  });

  test('a value equal to llmobs’ own is no conflict', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'http/protobuf' }]),
      ctx(),
    );
    assert.deepEqual(conflictsOf(pod), []);
    assert.equal(
      envOf(pod, 'app', 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      'http://llmobs-processor-obs.team-a.svc:4318',
    );
  });

  test('a user sampler keeps llmobs from adding a ratio that would change it', () => {
    const pod = envMutator.mutate(withEnv([{ name: 'OTEL_TRACES_SAMPLER', value: 'traceidratio' }]), ctx());
    assert.equal(envOf(pod, 'app', 'OTEL_TRACES_SAMPLER'), 'traceidratio');
    assert.equal(envOf(pod, 'app', 'OTEL_TRACES_SAMPLER_ARG'), undefined);
    assert.equal(conflictsOf(pod).length, 1);
  });

  test('a user content-capture switch that records more than the policy allows is kept and reported', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'TRACELOOP_TRACE_CONTENT', value: 'true' }]),
      ctx({ contentCapture: 'none' }),
    );
    assert.equal(envOf(pod, 'app', 'TRACELOOP_TRACE_CONTENT'), 'true');
    assert.deepEqual(conflictsOf(pod), [
      'app: TRACELOOP_TRACE_CONTENT set by the container, kept (llmobs: false)',
    ]);
  });

  test('a variable from valueFrom is kept and reported as such', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_TRACES_SAMPLER_ARG', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }]),
      ctx(),
    );
    assert.deepEqual(
      pod.spec?.containers[0]?.env?.find((e) => e.name === 'OTEL_TRACES_SAMPLER_ARG')?.valueFrom,
      {
        configMapKeyRef: { name: 'c', key: 'k' },
      },
    );
    assert.match(conflictsOf(pod)[0] ?? '', /OTEL_TRACES_SAMPLER_ARG set from valueFrom, kept/);
  });

  test('a user OTEL_SERVICE_NAME wins silently', () => {
    const pod = envMutator.mutate(withEnv([{ name: 'OTEL_SERVICE_NAME', value: 'mine' }]), ctx());
    assert.equal(envOf(pod, 'app', 'OTEL_SERVICE_NAME'), 'mine');
    assert.deepEqual(conflictsOf(pod), []);
  });

  test('service.name in the user’s OTEL_RESOURCE_ATTRIBUTES is not shadowed by OTEL_SERVICE_NAME', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'service.name=mine' }]),
      ctx(),
    );
    assert.equal(envOf(pod, 'app', 'OTEL_SERVICE_NAME'), undefined);
  });

  test('spec.env extras never override the container', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'LOG_LEVEL', value: 'debug' }]),
      ctx({
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'EXTRA', value: 'x' },
        ],
      }),
    );
    assert.equal(envOf(pod, 'app', 'LOG_LEVEL'), 'debug');
    assert.equal(envOf(pod, 'app', 'EXTRA'), 'x');
  });

  test('a signal-specific endpoint that bypasses the processor is reported', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', value: 'http://x' }]),
      ctx(),
    );
    assert.match(
      conflictsOf(pod)[0] ?? '',
      /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT .* bypasses the llmobs processor/,
    );
  });
});

describe('envMutator resource attributes', () => {
  test('merges with the user’s attributes (theirs win on a shared key) and goes last so $(VAR) resolves', () => {
    const pod = envMutator.mutate(
      withEnv([
        { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'team=search,k8s.container.name=custom' },
        { name: 'AFTER', value: 'x' },
      ]),
      ctx(),
    );
    const env = names(pod);
    assert.equal(env.at(-1), 'OTEL_RESOURCE_ATTRIBUTES');
    const podName = env.indexOf('OTEL_RESOURCE_ATTRIBUTES_POD_NAME');
    assert.ok(podName >= 0 && podName < env.length - 1);
    const value = envOf(pod, 'app', 'OTEL_RESOURCE_ATTRIBUTES') ?? '';
    assert.match(value, /^team=search,k8s\.container\.name=custom,k8s\.namespace\.name=team-a,/);
    assert.equal(value.match(/k8s\.container\.name=/g)?.length, 1);
    assert.match(value, /k8s\.pod\.name=\$\(OTEL_RESOURCE_ATTRIBUTES_POD_NAME\)/);
  });

  test('a valueFrom OTEL_RESOURCE_ATTRIBUTES is left alone and reported', () => {
    const pod = envMutator.mutate(
      withEnv([{ name: 'OTEL_RESOURCE_ATTRIBUTES', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]),
      ctx(),
    );
    assert.equal(
      pod.spec?.containers[0]?.env?.filter((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES').length,
      1,
    );
    assert.match(conflictsOf(pod)[0] ?? '', /no Kubernetes attributes added/);
  });

  test('pod annotations resource.opentelemetry.io/* win over the resource’s attributes, values percent-encoded', () => {
    const pod = envMutator.mutate(
      withEnv([], {
        'resource.opentelemetry.io/team': 'a,b',
        'resource.opentelemetry.io/service.name': 'svc',
      }),
      ctx({ resourceAttributes: { team: 'from-cr', 'deployment.environment.name': 'prod' } }),
    );
    const value = envOf(pod, 'app', 'OTEL_RESOURCE_ATTRIBUTES') ?? '';
    assert.match(value, /team=a%2Cb/);
    assert.doesNotMatch(value, /from-cr/);
    assert.doesNotMatch(value, /service\.name/);
    assert.equal(envOf(pod, 'app', 'OTEL_SERVICE_NAME'), 'svc');
  });
});

describe('envMutator semconv opt-in', () => {
  test('adds the GenAI opt-in to the user’s list instead of replacing it', () => {
    const pod = envMutator.mutate(withEnv([{ name: 'OTEL_SEMCONV_STABILITY_OPT_IN', value: 'http' }]), ctx());
    assert.equal(envOf(pod, 'app', 'OTEL_SEMCONV_STABILITY_OPT_IN'), 'http,gen_ai_latest_experimental');
  });
});

describe('envMutator content capture per instrumentation family', () => {
  const cases = [
    {
      id: 'none-python',
      level: 'none',
      langs: ['python'],
      otel: 'NO_CONTENT',
      traceloop: 'false',
      hide: 'true',
    },
    {
      id: 'redacted-python',
      level: 'redacted',
      langs: ['python'],
      otel: 'SPAN_ONLY',
      traceloop: 'true',
      hide: 'false',
    },
    { id: 'full-nodejs', level: 'full', langs: ['nodejs'], otel: 'true', traceloop: 'true', hide: 'false' },
    { id: 'none-nodejs', level: 'none', langs: ['nodejs'], otel: 'false', traceloop: 'false', hide: 'true' },
    // Runtime unknown: the Python value; Node.js ignores it with a warning, i.e. records no content.
    { id: 'full-unknown', level: 'full', langs: [], otel: 'SPAN_ONLY', traceloop: 'true', hide: 'false' },
  ] as const;
  for (const c of cases) {
    test(c.id, () => {
      const pod = envMutator.mutate(withEnv([]), ctx({ contentCapture: c.level, languages: [...c.langs] }));
      assert.equal(envOf(pod, 'app', 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'), c.otel);
      assert.equal(envOf(pod, 'app', 'TRACELOOP_TRACE_CONTENT'), c.traceloop);
      for (const v of OPENINFERENCE_HIDE) assert.equal(envOf(pod, 'app', v), c.hide, v);
    });
  }

  test('llmobs.dev/container-languages sets the runtime per container', () => {
    const pod = withEnv([], { 'llmobs.dev/container-languages': 'app=nodejs' });
    const out = envMutator.mutate(pod, ctx({ contentCapture: 'full', languages: ['python', 'nodejs'] }));
    assert.equal(envOf(out, 'app', 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'), 'true');
  });
});

describe('envMutator targets', () => {
  test('only the containers named in llmobs.dev/container-names', () => {
    const pod = deploymentPod({ annotations: { 'llmobs.dev/container-names': 'app' } });
    pod.spec?.containers.push({ name: 'istio-proxy', image: 'proxy' });
    const out = envMutator.mutate(pod, ctx());
    assert.ok(envOf(out, 'app', 'OTEL_SERVICE_NAME'));
    assert.equal(out.spec?.containers[1]?.env, undefined);
  });
});
