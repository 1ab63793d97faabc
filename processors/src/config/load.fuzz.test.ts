// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${env:…}` is config syntax the loader expands, not JavaScript
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as yaml from 'js-yaml';
import { anyJson, mutateJson } from '../otlp/fuzz-mutations.ts';
import { fuzzOptions } from '../otlp/fuzz-options.ts';
import { defaultRegistry } from '../service/registry.ts';
import { expandEnv, MAX_CONFIG_VALUES } from './expand.ts';
import { type LoadedConfig, loadConfigText } from './load.ts';

const registry = defaultRegistry();

/** A config using every kind of section, so mutations reach receivers, processors, exporters and service. */
const VALID = {
  extensions: { health_check: { endpoint: '127.0.0.1:13133' } },
  receivers: {
    otlp: {
      protocols: {
        grpc: { endpoint: '127.0.0.1:4317', max_recv_msg_size_mib: 4 },
        http: { endpoint: '127.0.0.1:4318', max_request_body_size: '20MiB' },
      },
    },
  },
  processors: {
    memory_limiter: { check_interval: '1s', limit_mib: 512 },
    llm_redaction: {},
    llm_cost: {},
    cardinality_limit: {},
    llm_sampling: {},
  },
  exporters: {
    'otlp_http/tempo': { endpoint: 'http://tempo:4318', compression: 'gzip', timeout: '5s' },
    'otlp_grpc/jaeger': { endpoint: 'jaeger:4317', tls: { insecure: true } },
    debug: {},
  },
  service: {
    extensions: ['health_check'],
    telemetry: { logs: { level: 'info' }, metrics: { address: '127.0.0.1:8888' } },
    pipelines: {
      traces: {
        receivers: ['otlp'],
        processors: ['memory_limiter', 'llm_redaction', 'llm_cost', 'llm_sampling'],
        exporters: ['otlp_http/tempo', 'otlp_grpc/jaeger'],
      },
      metrics: { receivers: ['otlp'], processors: ['cardinality_limit'], exporters: ['debug'] },
      logs: { receivers: ['otlp'], exporters: ['debug'] },
    },
  },
};

/** What the loader promises: it never throws, and answers either a config or at least one error. */
function loadsOrExplains(text: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  const loaded = loadConfigText(text, registry, env);
  if (loaded.config) assert.deepEqual(loaded.errors, [], 'a loaded config comes without errors');
  else {
    assert.ok(loaded.errors.length > 0, 'a refused config says why');
    for (const e of loaded.errors)
      assert.ok(typeof e === 'string' && /: \S/.test(e), `"${e}" says what is wrong`);
  }
  return loaded;
}

/** Pieces of YAML syntax, glued at random into documents that are mostly almost YAML. */
const yamlToken = fc.oneof(
  fc.constantFrom(
    'receivers:',
    'exporters:',
    'processors:',
    'service:',
    'pipelines:',
    'traces:',
    'otlp:',
    'protocols:',
    'http:',
    'endpoint:',
    ' ',
    '  ',
    '\n',
    '\n  ',
    '\n    ',
    '- ',
    ': ',
    '{',
    '}',
    '[',
    ']',
    ',',
    '&a ',
    '*a',
    '<<: *a',
    '!!str ',
    '!!binary ',
    '!!int ',
    '!!js/function ',
    '? ',
    '|',
    '>',
    '"',
    "'",
    '#',
    '---\n',
    '...\n',
    '${env:HOME}',
    '${env:',
    '${',
    '$$',
    '${env:A:-${env:B}}',
    '\t',
    '\u0000',
    '\ufeff',
  ),
  fc.string({ maxLength: 6 }),
);

describe('config loader under fuzzing', () => {
  test('almost-YAML text loads or is refused with errors, never throws', () => {
    fc.assert(
      fc.property(fc.array(yamlToken, { maxLength: 40 }), (tokens) => {
        loadsOrExplains(tokens.join(''));
      }),
      fuzzOptions(1500),
    );
  });

  test('any YAML document loads or is refused with errors', () => {
    fc.assert(
      fc.property(anyJson, (doc) => {
        loadsOrExplains(yaml.dump(doc));
      }),
      fuzzOptions(500),
    );
  });

  test('a valid config with one setting of the wrong type, removed or odd, loads or is refused', () => {
    assert.ok(loadsOrExplains(yaml.dump(VALID)).config, 'the base config is valid');
    fc.assert(
      fc.property(mutateJson(VALID), (doc) => {
        loadsOrExplains(yaml.dump(doc));
      }),
      fuzzOptions(1500),
    );
  });

  test('YAML aliases that multiply into more values than a config can hold are refused, quickly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 6, max: 12 }), (width, depth) => {
        const lines = [`a0: &a0 [${Array(width).fill('"x"').join(',')}]`];
        for (let i = 1; i <= depth; i++)
          lines.push(
            `a${i}: &a${i} [${Array(width)
              .fill(`*a${i - 1}`)
              .join(',')}]`,
          );
        lines.push(`receivers: {otlp: {protocols: {http: {endpoint: "*a${depth}"}}}}`);
        const { config, errors } = loadsOrExplains(lines.join('\n'));
        assert.equal(config, undefined);
        if (width ** (depth + 1) > MAX_CONFIG_VALUES)
          assert.match(errors.join('\n'), /more than 100000 values once YAML aliases are expanded/);
      }),
      fuzzOptions(30),
    );
  });
});

const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);

describe('${env:…} expansion under fuzzing', () => {
  test('a set variable expands to exactly its value, which is never expanded again', () => {
    fc.assert(
      fc.property(
        envName,
        fc.string({ maxLength: 20 }),
        fc.constantFrom('${env:%}', '${%}'),
        (name, value, form) => {
          fc.pre(value !== '');
          const unset = new Set<string>();
          const env = { [name]: value, OTHER: 'nope' };
          assert.equal(expandEnv(form.replace('%', name), env, unset), value);
          assert.equal(expandEnv(`a${form.replace('%', name)}b`, env, unset), `a${value}b`);
          assert.equal(unset.size, 0);
        },
      ),
      fuzzOptions(300),
    );
  });

  test('an unset variable takes its default, or is empty and reported', () => {
    fc.assert(
      fc.property(envName, fc.stringMatching(/^[^}]{0,12}$/), (name, def) => {
        const unset = new Set<string>();
        assert.equal(expandEnv(`\${env:${name}:-${def}}`, {}, unset), def);
        assert.equal(unset.size, 0);
        assert.equal(expandEnv(`<\${env:${name}}>`, {}, unset), '<>');
        assert.deepEqual([...unset], [name]);
      }),
      fuzzOptions(300),
    );
  });

  test('$$ is a literal $, so no text can be made to expand by escaping', () => {
    fc.assert(
      fc.property(envName, (name) => {
        const unset = new Set<string>();
        assert.equal(expandEnv(`$\${env:${name}}`, { [name]: 'secret' }, unset), `\${env:${name}}`);
      }),
      fuzzOptions(100),
    );
  });

  test('any text with any environment expands without throwing, and configs built from it load or explain', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(yamlToken, fc.constantFrom('${env:EP}', '${EP}', '${env:EP:-x:1}', '$$', '${env:1BAD}')),
          {
            maxLength: 8,
          },
        ),
        fc.string({ maxLength: 30 }),
        (parts, ep) => {
          const endpoint = parts.join('');
          expandEnv(endpoint, { EP: ep }, new Set());
          const text = yaml.dump({
            ...VALID,
            exporters: { ...VALID.exporters, 'otlp_http/tempo': { endpoint } },
          });
          loadsOrExplains(text, { EP: ep });
        },
      ),
      fuzzOptions(500),
    );
  });
});
