import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  chartCrdsDir,
  chartDir,
  ciValuesFiles,
  fixturesDir,
  isMap,
  mergeValues,
  readYaml,
  repoCrdsDir,
  type Values,
  valuePaths,
  yamlNames,
} from './chart.ts';

const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as object;
const defaults = readYaml(join(chartDir, 'values.yaml')) as Values;

function compile(): ValidateFunction {
  return new Ajv({ allErrors: true, strict: true }).compile(schema);
}

/** One line per schema error: `<path>: <message>`, naming the offending key for additionalProperties. */
function describeErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? `/${String(e.params.additionalProperty)}` : '';
    return `${e.instancePath}${extra}: ${e.message ?? e.keyword}`;
  });
}

function errorsOf(values: Values): string[] {
  const validate = compile();
  return validate(values) ? [] : describeErrors(validate.errors);
}

describe('values.schema.json', () => {
  test('compiles as a strict draft-07 schema', () => {
    assert.doesNotThrow(compile);
  });

  test('accepts the chart defaults (values.yaml)', () => {
    assert.deepEqual(errorsOf(defaults), []);
  });

  for (const file of ciValuesFiles()) {
    test(`accepts ci/${basename(file)} alone and merged over the defaults`, () => {
      const values = (readYaml(file) ?? {}) as Values;
      assert.ok(isMap(values), `${file} is not a map`);
      assert.deepEqual(errorsOf(values), []);
      assert.deepEqual(errorsOf(mergeValues(defaults, values)), []);
    });
  }

  test('covers the six documented scenarios', () => {
    assert.deepEqual(
      ciValuesFiles()
        .map((f) => basename(f))
        .sort(),
      [
        'cert-manager-values.yaml',
        'custom-images-values.yaml',
        'default-values.yaml',
        'observability-values.yaml',
        'single-replica-values.yaml',
        'tls-secret-values.yaml',
      ],
    );
  });

  const refusals: readonly { name: string; values: Values; path: RegExp }[] = [
    {
      name: 'a string replica count',
      values: { operator: { replicas: 'two' } },
      path: /^\/operator\/replicas: /,
    },
    { name: 'an unknown top-level key', values: { replicaCount: 2 }, path: /^\/replicaCount: / },
    {
      name: 'a misspelt nested key',
      values: { webhook: { certManger: { enabled: true } } },
      path: /^\/webhook\/certManger: /,
    },
    {
      name: 'a digest that is not sha256',
      values: { processor: { image: { repository: 'r/p', digest: 'md5:abc' } } },
      path: /^\/processor\/image\/digest: /,
    },
    {
      name: 'a pull policy on an image the operator only passes on',
      values: { processor: { image: { repository: 'r/p', pullPolicy: 'Always' } } },
      path: /^\/processor\/image\/pullPolicy: /,
    },
    {
      name: 'an unknown failure policy',
      values: { webhook: { pods: { failurePolicy: 'Retry' } } },
      path: /^\/webhook\/pods\/failurePolicy: /,
    },
    {
      name: 'a malformed duration',
      values: { webhook: { tls: { certManager: { duration: '1 year' } } } },
      path: /^\/webhook\/tls\/certManager\/duration: /,
    },
    {
      name: 'a webhook TLS mode that does not exist',
      values: { webhook: { tls: { mode: 'selfSigned' } } },
      path: /^\/webhook\/tls\/mode: /,
    },
    {
      name: 'the TLS mode secret without the Secret’s name',
      values: {
        webhook: { tls: { mode: 'secret', secret: { caBundle: '-----BEGIN CERTIFICATE-----\nMII…' } } },
      },
      path: /^\/webhook\/tls\/secret\/name: /,
    },
    {
      name: 'the TLS mode secret without the CA bundle',
      values: { webhook: { tls: { mode: 'secret', secret: { name: 'corp-webhook-tls' } } } },
      path: /^\/webhook\/tls\/secret\/caBundle: /,
    },
    {
      name: 'a CA bundle that is neither PEM nor PEM in base64',
      values: {
        webhook: { tls: { mode: 'secret', secret: { name: 'corp-webhook-tls', caBundle: 'MIIBnzCC' } } },
      },
      path: /^\/webhook\/tls\/secret\/caBundle: /,
    },
    {
      name: 'the old webhook.certManager key (now webhook.tls)',
      values: { webhook: { certManager: { enabled: true } } },
      path: /^\/webhook\/certManager: /,
    },
    {
      name: 'several replicas without leader election',
      values: { operator: { replicas: 3, leaderElection: { enabled: false } } },
      path: /^\/operator\/leaderElection\/enabled: /,
    },
    {
      name: 'a common label that would override the chart’s own',
      values: { commonLabels: { 'app.kubernetes.io/name': 'x' } },
      path: /^\/commonLabels: /,
    },
    {
      name: 'an extra arg that is not a flag',
      values: { operator: { extraArgs: ['rm -rf'] } },
      path: /^\/operator\/extraArgs\/0: /,
    },
    {
      name: 'an alert that does not exist in disabledAlerts',
      values: { metrics: { prometheusRule: { disabledAlerts: ['LLMObsLatencyP99'] } } },
      path: /^\/metrics\/prometheusRule\/disabledAlerts\/0: /,
    },
    {
      name: 'a ratio threshold above 1',
      values: { metrics: { prometheusRule: { alerts: { errorRatio: 5 } } } },
      path: /^\/metrics\/prometheusRule\/alerts\/errorRatio: /,
    },
    {
      name: 'a timeout regex that would end the PromQL string',
      values: { metrics: { prometheusRule: { alerts: { timeoutErrorTypes: '.*"} or vector(1) #' } } } },
      path: /^\/metrics\/prometheusRule\/alerts\/timeoutErrorTypes: /,
    },
    {
      name: 'an unknown alert threshold',
      values: { metrics: { prometheusRule: { alerts: { latencyP99Seconds: 60 } } } },
      path: /^\/metrics\/prometheusRule\/alerts\/latencyP99Seconds: /,
    },
    {
      name: 'a PodMonitor namespace that is not a DNS label',
      values: { metrics: { podMonitor: { namespaces: ['Team_A'] } } },
      path: /^\/metrics\/podMonitor\/namespaces\/0: /,
    },
    {
      name: 'a dashboard label key with spaces',
      values: { metrics: { grafanaDashboard: { label: 'grafana dashboard' } } },
      path: /^\/metrics\/grafanaDashboard\/label: /,
    },
    {
      name: 'a dashboard label that is one of the chart’s own',
      values: { metrics: { grafanaDashboard: { label: 'app.kubernetes.io/component' } } },
      path: /^\/metrics\/grafanaDashboard\/label: /,
    },
    {
      name: 'an apiserver address that is not a CIDR',
      values: { networkPolicy: { apiServer: { cidrs: ['kubernetes.default'] } } },
      path: /^\/networkPolicy\/apiServer\/cidrs\/0: /,
    },
    {
      name: 'a misspelt label selector field',
      values: { networkPolicy: { metrics: { namespaceSelector: { matchLabel: { a: 'b' } } } } },
      path: /^\/networkPolicy\/metrics\/namespaceSelector\/matchLabel: /,
    },
    {
      name: 'a redaction entity the CRD does not know',
      values: { defaultPolicy: { redaction: { requiredEntities: ['passport'] } } },
      path: /^\/defaultPolicy\/redaction\/requiredEntities\/0: /,
    },
    {
      name: 'a CRD switch that is not a boolean',
      values: { crds: { install: 'yes' } },
      path: /^\/crds\/install: /,
    },
    {
      name: 'a misspelt CRD key',
      values: { crds: { create: true } },
      path: /^\/crds\/create: /,
    },
    {
      name: 'a content capture level the CRD does not know',
      values: { defaultPolicy: { contentCapture: { maxLevel: 'partial' } } },
      path: /^\/defaultPolicy\/contentCapture\/maxLevel: /,
    },
  ];
  for (const r of refusals) {
    test(`refuses ${r.name}, naming the path`, () => {
      const errors = errorsOf(mergeValues(defaults, r.values));
      assert.ok(
        errors.some((e) => r.path.test(e)),
        `expected an error matching ${r.path}, got ${JSON.stringify(errors)}`,
      );
    });
  }

  test('refuses the bad-values fixture the integration test feeds to helm, naming both fields', () => {
    const bad = readYaml(join(fixturesDir, 'bad-values.yaml')) as Values;
    const errors = errorsOf(mergeValues(defaults, bad));
    assert.ok(
      errors.some((e) => e.startsWith('/operator/replicas: ')),
      JSON.stringify(errors),
    );
    assert.ok(
      errors.some((e) => e.startsWith('/operator/replicaCount: ')),
      JSON.stringify(errors),
    );
  });
});

describe('chart defaults', () => {
  test('pin no image to latest: every tag is empty (the appVersion) and no digest is preset', () => {
    const images = [
      ['operator', (defaults.operator as Values).image],
      ['processor', (defaults.processor as Values).image],
      ['python', ((defaults.instrumentation as Values).python as Values).image],
      ['nodejs', ((defaults.instrumentation as Values).nodejs as Values).image],
    ] as const;
    for (const [name, image] of images) {
      assert.ok(isMap(image), name);
      assert.equal(image.tag, '', `${name}.tag`);
      assert.equal(image.digest, '', `${name}.digest`);
      assert.doesNotMatch(String(image.repository), /:latest$|@/, `${name}.repository`);
    }
  });

  test('Chart.yaml pins the versions the brief fixed', () => {
    const chart = readYaml(join(chartDir, 'Chart.yaml')) as Values;
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.name, 'llmobs');
    assert.equal(chart.version, '0.1.0');
    assert.equal(chart.appVersion, '0.1.0');
    assert.equal(chart.kubeVersion, '>=1.29.0-0');
  });

  test('README.md documents every values key, and no key that does not exist', () => {
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Values'));
    const documented = new Set([...section.matchAll(/^\| `([A-Za-z0-9_.]+)` +\|/gm)].map((m) => m[1] ?? ''));
    const paths = valuePaths(defaults);
    const leaves = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));
    // A key is documented itself or through an ancestor (e.g. operator.resources covers its requests).
    const undocumented = leaves.filter((p) => {
      const parts = p.split('.');
      return !parts.some((_, i) => documented.has(parts.slice(0, i + 1).join('.')));
    });
    assert.deepEqual(undocumented, [], 'values.yaml keys missing from README.md');
    const unknown = [...documented].filter((d) => !paths.includes(d));
    assert.deepEqual(unknown, [], 'README.md documents keys values.yaml lacks');
  });
});

describe('charts/llmobs/files/crds', () => {
  test('holds exactly the CRD files of crds/ (re-copy with `cp crds/*.yaml charts/llmobs/files/crds/`)', () => {
    assert.deepEqual(yamlNames(chartCrdsDir), yamlNames(repoCrdsDir));
    assert.ok(yamlNames(repoCrdsDir).length >= 2);
  });

  for (const name of yamlNames(repoCrdsDir)) {
    test(`${name} is byte-identical to crds/${name}`, () => {
      const source = readFileSync(join(repoCrdsDir, name));
      const copy = readFileSync(join(chartCrdsDir, name));
      assert.ok(
        source.equals(copy),
        `charts/llmobs/files/crds/${name} drifted from crds/${name}: cp crds/*.yaml charts/llmobs/files/crds/`,
      );
    });
  }

  test('helm’s special crds/ folder is gone: helm would install the CRDs a second time, and never upgrade them', () => {
    assert.equal(existsSync(join(chartDir, 'crds')), false);
  });

  test('by default the chart installs, upgrades and keeps them (crds.install, crds.keep)', () => {
    assert.deepEqual(defaults.crds, { install: true, keep: true });
  });
});
