// Consistency of images/*/Dockerfile with the repository and the chart, without building anything (this machine
// has no Docker engine): each ENTRYPOINT runs a file that exists (or, for the bundles, exactly the webhook's init
// container command), every COPY source exists in its build context, base images are pinned by tag, each build
// input of a bundle is copied into its image, and the chart's default image names are the image folders.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import * as yaml from 'js-yaml';
import {
  processorPodSecurityContext,
  processorSecurityContext,
} from '../../operator/src/manifests/security.ts';
import { BUNDLE_SOURCE, MOUNT_PATH } from '../../operator/src/webhook/podmutation/constants.ts';
import { repoRoot } from '../harness/cache.ts';

const IMAGES = join(repoRoot, 'images');

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(file: string): Instruction[] {
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined && !line.trim().startsWith('#'))
      out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

/** The exec form (`["a", "b"]`) of the last `op` instruction. */
function execForm(ins: readonly Instruction[], op: string): string[] | undefined {
  const last = ins.filter((i) => i.op === op).pop();
  if (!last) return undefined;
  const parsed: unknown = JSON.parse(last.args);
  assert.ok(Array.isArray(parsed) && parsed.every((s) => typeof s === 'string'), `${op} is in exec form`);
  return parsed as string[];
}

/** Sources of the COPY instructions that read the build context (not `--from=` another stage). */
function copySources(ins: readonly Instruction[]): string[] {
  const out: string[] = [];
  for (const i of ins.filter((x) => x.op === 'COPY')) {
    const words = i.args.split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    out.push(...words.filter((w) => !w.startsWith('--')).slice(0, -1));
  }
  return out;
}

const folders = readdirSync(IMAGES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Where each image is built from: the repository root for the Node.js services, its own folder otherwise. */
function context(folder: string): string {
  return folder === 'operator' || folder === 'processor' ? repoRoot : join(IMAGES, folder);
}

interface RunAs {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
}

/** The last USER instruction as numbers; a missing group is 0 (root's), as the runtime takes it. */
function imageUser(ins: readonly Instruction[]): { uid: number; gid: number } | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(ins.filter((i) => i.op === 'USER').pop()?.args ?? '');
  return m?.[1] === undefined ? undefined : { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

interface ChartImage {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

const values = yaml.load(readFileSync(join(repoRoot, 'charts', 'llmobs', 'values.yaml'), 'utf8')) as {
  operator: {
    image: ChartImage;
    command: string[];
    securityContext: RunAs;
    podSecurityContext: RunAs;
  };
  processor: { image: ChartImage };
  instrumentation: { python: { image: ChartImage }; nodejs: { image: ChartImage } };
};

const CHART_IMAGES: Readonly<Record<string, ChartImage>> = {
  operator: values.operator.image,
  processor: values.processor.image,
  'autoinstrumentation-python': values.instrumentation.python.image,
  'autoinstrumentation-nodejs': values.instrumentation.nodejs.image,
};

describe('images/*/Dockerfile', () => {
  test('every image folder has a Dockerfile and is a chart default image, and the other way round', () => {
    assert.deepEqual(folders, Object.keys(CHART_IMAGES).sort());
    for (const [folder, image] of Object.entries(CHART_IMAGES)) {
      assert.ok(existsSync(join(IMAGES, folder, 'Dockerfile')), `images/${folder}/Dockerfile`);
      assert.equal(basename(image.repository), folder, `the chart's image ${image.repository}`);
    }
  });

  for (const folder of folders) {
    test(`${folder}: base images pinned by tag, COPY sources exist in the build context`, () => {
      const ins = instructions(join(IMAGES, folder, 'Dockerfile'));
      const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0] ?? '');
      assert.ok(froms.length > 0);
      for (const f of froms)
        assert.match(f, /^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/, `FROM ${f} has a tag`);
      for (const f of froms) assert.doesNotMatch(f, /:latest\b/, `FROM ${f} is not :latest`);
      const sources = copySources(ins);
      assert.ok(sources.length > 0);
      for (const s of sources)
        assert.ok(existsSync(join(context(folder), s)), `COPY ${s} in ${context(folder)}`);
    });
  }

  for (const [folder, main] of [
    ['operator', 'operator/src/main.ts'],
    ['processor', 'processors/src/main.ts'],
  ] as const) {
    test(`${folder}: ENTRYPOINT runs ${main}, which the image copies`, () => {
      const ins = instructions(join(IMAGES, folder, 'Dockerfile'));
      assert.deepEqual(execForm(ins, 'ENTRYPOINT'), ['node', main]);
      assert.equal(execForm(ins, 'CMD'), undefined, 'args come from the chart / the operator');
      assert.ok(existsSync(join(repoRoot, main)));
      assert.ok(
        copySources(ins).some((s) => main.startsWith(`${s.replace(/\/$/, '')}/`)),
        `a COPY brings ${main} in`,
      );
      assert.equal(ins.find((i) => i.op === 'WORKDIR')?.args, '/app');
    });
  }

  // A pod's runAsUser/runAsGroup win over the image's USER, so a mismatch goes unnoticed in the cluster and
  // only shows where the image runs on its own (docker run, another chart): files owned for one user, run as another.
  for (const [folder, where, contexts] of [
    [
      'processor',
      'processorSecurityContext() / processorPodSecurityContext()',
      [processorSecurityContext(), processorPodSecurityContext()],
    ],
    [
      'operator',
      "the chart's operator securityContext / podSecurityContext",
      [values.operator.securityContext, values.operator.podSecurityContext],
    ],
  ] as const) {
    test(`${folder}: USER is the numeric non-root uid:gid of ${where}`, () => {
      const user = imageUser(instructions(join(IMAGES, folder, 'Dockerfile')));
      assert.ok(user, 'a numeric USER uid:gid');
      assert.notEqual(user.uid, 0, 'non-root');
      for (const c of contexts as readonly RunAs[]) {
        assert.equal(typeof c.runAsUser, 'number', `${where} sets runAsUser`);
        assert.deepEqual(user, { uid: c.runAsUser, gid: c.runAsGroup ?? 0 }, `USER vs ${where}`);
      }
    });

    test(`${folder}: every file it copies is made readable, not writable, by that user before USER`, () => {
      const ins = instructions(join(IMAGES, folder, 'Dockerfile'));
      const userAt = ins.findIndex((i) => i.op === 'USER');
      assert.ok(userAt > 0);
      ins.forEach((copy, at) => {
        if (copy.op !== 'COPY') return;
        for (const source of copySources([copy])) {
          const chmod = ins
            .slice(at + 1, userAt)
            .find(
              (i) => i.op === 'RUN' && /\bchmod (-R )?a\+rX?,go-w\b/.test(i.args) && i.args.includes(source),
            );
          assert.ok(chmod, `COPY ${source} is followed by a chmod a+r,go-w of it`);
        }
      });
    });
  }

  test("operator: the chart's default command is the image's ENTRYPOINT", () => {
    const ins = instructions(join(IMAGES, 'operator', 'Dockerfile'));
    assert.deepEqual(values.operator.command, execForm(ins, 'ENTRYPOINT'));
  });

  for (const lang of ['python', 'nodejs'] as const) {
    const folder = `autoinstrumentation-${lang}`;
    test(`${folder}: ENTRYPOINT is the init container's copy, every build input is in the image`, () => {
      const ins = instructions(join(IMAGES, folder, 'Dockerfile'));
      assert.deepEqual(execForm(ins, 'ENTRYPOINT'), ['cp', '-r', `${BUNDLE_SOURCE}/.`, MOUNT_PATH[lang]]);
      assert.ok(
        ins.some(
          (i) => i.op === 'COPY' && i.args.includes('--from=') && i.args.endsWith(` ${BUNDLE_SOURCE}`),
        ),
        `the final stage holds ${BUNDLE_SOURCE}`,
      );
      assert.ok(ins.some((i) => i.op === 'RUN' && i.args.includes(`build.sh ${BUNDLE_SOURCE}`)));
      assert.match(
        ins.filter((i) => i.op === 'USER').pop()?.args ?? '',
        /^[1-9]\d*(:\d+)?$/,
        'numeric non-root',
      );
      // The bundle test keys its cache by every file of the folder: the image must be built from the same ones.
      const inputs = readdirSync(join(IMAGES, folder)).filter((f) => f !== 'Dockerfile' && f !== 'README.md');
      assert.deepEqual(copySources(ins).sort(), inputs.sort());
    });
  }
});
