/**
 * Model ids as instrumentations report them → the ids to look up in a price catalogue, most
 * specific first. Each candidate says how far it strayed from what was reported, so a price found
 * through a family fallback is labelled as such on the span.
 */
export type Resolution = 'exact' | 'normalised' | 'family_fallback';

export interface ModelCandidate {
  readonly id: string;
  readonly resolution: Resolution;
}

/** Bedrock cross-region inference profile prefixes (`us.anthropic.claude-…`). */
const BEDROCK_GEO = /^(?:us-gov|us|eu|apac|ap|au|jp|ca|global)\.(?=[a-z0-9-]+\.[a-z0-9])/;
/** Provider or router prefixes: `openai/gpt-4o`, `bedrock/us-east-1/…`, Gemini's `models/…`. */
const PATH_PREFIX = /^(?:[a-z0-9_.-]+\/)+/;
/** Bedrock model versions: `…-v1:0`, `…-v2`, `…:0`. */
const BEDROCK_VERSION = /(?:-v\d+(?::\d+)?|:\d+)$/;
/** Dated snapshots and moving aliases: `-2024-08-06`, `-20250514`, `-latest`, `-001`, `-preview-05-06`. */
const DATE_SUFFIXES: readonly RegExp[] = [
  /-\d{4}-\d{2}-\d{2}$/,
  /-\d{8}$/,
  /-latest$/,
  /-\d{3}$/,
  /-preview(?:-\d{2}-\d{2})?$/,
  /-exp(?:-\d{4})?$/,
];

/**
 * ARNs: a foundation-model or system inference-profile ARN names the model after its last `/`
 * (`arn:aws:bedrock:us-east-1:…:inference-profile/us.anthropic.claude-…-v1:0`). Application
 * inference profiles have opaque ids: only a configured alias can price those.
 */
function stripArn(id: string): string {
  if (!id.startsWith('arn:')) return id;
  const slash = id.lastIndexOf('/');
  return slash >= 0 ? id.slice(slash + 1) : id;
}

function stripBedrock(id: string): string {
  return id.replace(BEDROCK_GEO, '').replace(BEDROCK_VERSION, '');
}

export function modelCandidates(reported: string): ModelCandidate[] {
  const out: ModelCandidate[] = [];
  const seen = new Set<string>();
  const add = (id: string, resolution: Resolution) => {
    if (id && !seen.has(id)) {
      seen.add(id);
      out.push({ id, resolution });
    }
  };
  const raw = reported.trim().toLowerCase();
  add(raw, 'exact');
  let id = stripArn(raw).replace(PATH_PREFIX, '');
  add(id, 'normalised');
  // Vertex writes `claude-sonnet-4@20250514` where Anthropic writes `claude-sonnet-4-20250514`.
  const at = id.indexOf('@');
  if (at > 0) {
    const base = id.slice(0, at);
    const version = id.slice(at + 1);
    add(/^\d{8}$/.test(version) ? `${base}-${version}` : base, 'normalised');
    add(base, 'normalised');
    id = base;
  }
  const bedrock = stripBedrock(id);
  add(bedrock, 'normalised');
  // Bedrock ids carry the vendor: `anthropic.claude-sonnet-4-20250514` is Anthropic's `claude-sonnet-4-20250514`.
  const vendorDot = /^(?:anthropic|amazon|meta|mistral|cohere|deepseek|ai21|writer|openai|qwen)\.(.+)$/.exec(
    bedrock,
  );
  const family = [bedrock, ...(vendorDot?.[1] ? [vendorDot[1]] : [])];
  for (const f of family) add(f, 'normalised');
  // Family fallback: drop one date/alias suffix at a time.
  for (const f of family) {
    let cur = f;
    for (let changed = true; changed; ) {
      changed = false;
      for (const re of DATE_SUFFIXES) {
        if (re.test(cur)) {
          cur = cur.replace(re, '');
          add(cur, 'family_fallback');
          changed = true;
        }
      }
    }
  }
  return out;
}
