// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by where the code
// lives (our source files, each npm package, Node core, GC), and inclusive time of our own functions.
//   node bench/cpuprofile-summary.ts FILE.cpuprofile [--top 20]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time. */
  readonly pct: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly selfByFunction: readonly ProfileRow[];
  readonly selfByOrigin: readonly ProfileRow[];
  /** Inclusive time of functions in processors/src (what each of our steps costs with its callees). */
  readonly inclusiveOurs: readonly ProfileRow[];
}

/** Where a frame's code lives: `processors/src/<file>`, an npm package, `node core`, `GC`, ... */
export function originOf(f: CallFrame): string {
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)') return '(program: V8/native, unattributed)';
  if (f.functionName === '(idle)') return '(idle)';
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url);
  if (nm?.[1]) return `npm: ${nm[1]}`;
  const src = /\/(processors\/src\/.+)$/.exec(f.url);
  if (src?.[1]) return src[1];
  if (f.url.startsWith('node:')) return 'node core (node:*)';
  // Functions built from strings (new Function) have neither name nor URL: protobufjs's generated codecs.
  if (f.url === '' && f.functionName === '') return 'generated code (new Function: protobufjs codecs)';
  if (f.url === '') return 'V8 builtins / native';
  return f.url;
}

const frameName = (f: CallFrame, origin: string) =>
  `${f.functionName || '(anonymous)'} — ${origin}${f.url && !origin.startsWith('npm') ? `:${f.lineNumber + 1}` : ''}`;

function rows(m: Map<string, number>, busyMs: number, top: number): ProfileRow[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, pct: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Sample i's time is the delta to the next sample.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(dt, 0));
  }
  let idleUs = 0;
  let busyUs = 0;
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    const origin = originOf(f);
    if (origin === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const name = frameName(f, origin);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / 1000);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us / 1000);
  }

  // Inclusive time of our functions: each node's subtree total, counted once per call stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = (byId.get(cur) as ProfileNode).callFrame;
      const origin = originOf(f);
      if (origin === '(idle)' || !origin.startsWith('processors/src/')) continue;
      const name = frameName(f, origin);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us / 1000);
    }
  }
  const busyMs = busyUs / 1000;
  return {
    busyMs,
    idleMs: idleUs / 1000,
    selfByFunction: rows(byFunction, busyMs, top),
    selfByOrigin: rows(byOrigin, busyMs, top),
    inclusiveOurs: rows(inclusive, busyMs, top),
  };
}

export function profileMarkdown(s: ProfileSummary): string {
  const table = (title: string, r: readonly ProfileRow[]) =>
    [
      `| ${title} | ms | % of busy |`,
      '|---|---:|---:|',
      ...r.map((x) => `| ${x.name.replaceAll('|', '\\|')} | ${x.ms.toFixed(0)} | ${x.pct.toFixed(1)} |`),
    ].join('\n');
  return [
    `Busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms.`,
    '',
    table('self time by origin', s.selfByOrigin),
    '',
    table('self time by function', s.selfByFunction),
    '',
    table('inclusive time, functions in processors/src', s.inclusiveOurs),
  ].join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '20' } },
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: node bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  process.stdout.write(`${profileMarkdown(summarizeProfile(file, Number(values.top)))}\n`);
}
