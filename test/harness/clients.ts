import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, toolsDir } from './cache.ts';

const run = promisify(execFile);

/** What an instrumented client does; every client supports every scenario. */
export type ClientScenario = 'chat' | 'stream' | 'tools' | 'error' | 'embed';

/** The three Python instrumentations of the openai SDK, each in its own venv. */
export type PythonVariant = 'openai-v2' | 'openllmetry' | 'openinference';
export const PYTHON_VARIANTS: readonly PythonVariant[] = ['openai-v2', 'openllmetry', 'openinference'];

export interface ClientOptions {
  readonly scenario: ClientScenario;
  /** OpenAI-compatible base URL ending in `/v1` (the mock LLM's `url`). */
  readonly llmBaseUrl: string;
  /** OTLP/HTTP base URL; the SDKs append `/v1/traces`. */
  readonly otlpEndpoint: string;
  readonly serviceName: string;
  /** Overrides the model the scenario uses (e.g. `mock-latency-200`). */
  readonly model?: string;
  /** The user message (the clients have a fixed default). */
  readonly prompt?: string;
  /**
   * Whether message content goes on the telemetry, translated to each instrumentation's own switch;
   * undefined leaves each at its default (official ones: off; OpenLLMetry and OpenInference: on).
   */
  readonly captureContent?: boolean;
  /** Extra environment, applied last. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface ClientResult {
  /** The JSON line the client printed about the LLM's answer (content, usage, tool calls, error...). */
  readonly output: Readonly<Record<string, unknown>>;
  readonly stdout: string;
  readonly stderr: string;
}

const clientsDir = join(repoRoot, 'test', 'clients');
const venvs = new Map<PythonVariant, Promise<string>>();

/** The venv python of a variant, creating the venv in the cache on first use (tools/python-venv.sh). */
export function pythonVenv(variant: PythonVariant): Promise<string> {
  let p = venvs.get(variant);
  if (!p) {
    p = (async () => {
      try {
        const { stdout } = await run(join(toolsDir, 'python-venv.sh'), [variant], {
          maxBuffer: 16 * 1024 * 1024,
          env: process.env,
        });
        const path = stdout.trim().split('\n').pop();
        if (!path) throw new Error(`python-venv.sh ${variant} printed no path`);
        return path;
      } catch (err: unknown) {
        // The script reduces a failed pip run to one line on stderr; surface exactly that line.
        const stderr = (err as { stderr?: string }).stderr ?? '';
        const line = stderr
          .split('\n')
          .filter((l) => l.includes('failed'))
          .pop();
        throw new Error(line ?? `python-venv.sh ${variant} failed: ${String(err)}`, { cause: err });
      }
    })();
    venvs.set(variant, p);
    // A failure is not cached, so a later test can retry after the cause is fixed.
    void p.catch(() => venvs.delete(variant));
  }
  return p;
}

/** The environment of a client: the test's own, minus any OTEL_* it carries, plus the run's settings. */
function clientEnv(opts: ClientOptions, contentEnv: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  Object.assign(env, {
    LLM_BASE_URL: opts.llmBaseUrl,
    OTEL_SERVICE_NAME: opts.serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: opts.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    // Short batch delays: the clients flush before exiting anyway, this only trims waiting on timers.
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...(opts.model === undefined ? {} : { LLM_MODEL: opts.model }),
    ...(opts.prompt === undefined ? {} : { LLM_PROMPT: opts.prompt }),
    ...contentEnv,
    ...opts.env,
  });
  return env;
}

async function runClient(
  what: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ClientResult> {
  try {
    const { stdout, stderr } = await run(command, [...args], {
      env,
      cwd: repoRoot,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = stdout.trim().split('\n').pop() ?? '';
    let output: unknown;
    try {
      output = JSON.parse(line);
    } catch {
      throw new Error(`${what} printed no JSON result; stdout:\n${stdout}\nstderr:\n${stderr}`);
    }
    return { output: output as Record<string, unknown>, stdout, stderr };
  } catch (err: unknown) {
    const e = err as { stderr?: string; code?: number | string; killed?: boolean; signal?: string };
    if (e.stderr === undefined) throw err;
    const why = e.killed ? `timed out after ${timeoutMs} ms` : `exited with ${e.code ?? e.signal}`;
    const tail = e.stderr.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${what} ${why}:\n${tail}`, { cause: err });
  }
}

/** Runs test/clients/node/chat.ts (@opentelemetry/instrumentation-openai) for one scenario. */
export function runNodeClient(opts: ClientOptions): Promise<ClientResult> {
  const content: Record<string, string> =
    opts.captureContent === undefined
      ? {}
      : { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: String(opts.captureContent) };
  return runClient(
    `node client (${opts.scenario})`,
    process.execPath,
    [join(clientsDir, 'node', 'chat.ts'), opts.scenario],
    clientEnv(opts, content),
    opts.timeoutMs ?? 60_000,
  );
}

/** Each instrumentation's own switch for message content. */
function pythonContentEnv(variant: PythonVariant, capture: boolean | undefined): Record<string, string> {
  if (capture === undefined) return {};
  switch (variant) {
    case 'openai-v2':
      // With opentelemetry-util-genai 1.x the official instrumentation reads a mode here, not a boolean.
      return { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: capture ? 'SPAN_ONLY' : 'NO_CONTENT' };
    case 'openllmetry':
      return { TRACELOOP_TRACE_CONTENT: String(capture) };
    case 'openinference': {
      const hide = String(!capture);
      return {
        OPENINFERENCE_HIDE_INPUTS: hide,
        OPENINFERENCE_HIDE_OUTPUTS: hide,
        OPENINFERENCE_HIDE_INPUT_MESSAGES: hide,
        OPENINFERENCE_HIDE_OUTPUT_MESSAGES: hide,
        OPENINFERENCE_HIDE_EMBEDDINGS_TEXT: hide,
        OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS: hide,
      };
    }
  }
}

/** Runs test/clients/python/client.py with one variant's instrumentation, creating its venv if needed. */
export async function runPythonClient(
  opts: ClientOptions & { readonly variant: PythonVariant },
): Promise<ClientResult> {
  const python = await pythonVenv(opts.variant);
  const env = clientEnv(opts, pythonContentEnv(opts.variant, opts.captureContent));
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONDONTWRITEBYTECODE = '1';
  return runClient(
    `python client ${opts.variant} (${opts.scenario})`,
    python,
    [join(clientsDir, 'python', 'client.py'), opts.variant, opts.scenario],
    env,
    opts.timeoutMs ?? 60_000,
  );
}
