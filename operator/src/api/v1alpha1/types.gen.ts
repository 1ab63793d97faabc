// AUTO-GENERATED from crds/*.yaml by operator/src/api/v1alpha1/generate.ts — do not edit. Run `make generate`.

/**
 * What to instrument and how its telemetry is processed and exported.
 */
export interface LLMObservabilitySpec {
  /**
   * Pods of this namespace to instrument. An empty selector selects every pod. Precedence, highest first: the pod's llmobs.dev/inject annotation ("true"/"false"), then the namespace's llmobs.dev/inject annotation, then this selector.
   */
  selector?: {
    matchLabels?: {
      [k: string]: string | undefined;
    };
    /**
     * @maxItems 16
     */
    matchExpressions?: {
      key: string;
      operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
      values?: string[];
    }[];
  };
  /**
   * Runtimes to auto-instrument with an init container that adds the GenAI instrumentation bundle. Leave empty when the application already configures OpenTelemetry itself; the environment is injected either way.
   *
   * @maxItems 2
   */
  languages?: ('python' | 'nodejs')[];
  /**
   * Whether prompt and completion content is recorded: none (metadata only), redacted (recorded, then redacted by the processor before it leaves), or full (recorded and exported as is, if every applicable LLMObservabilityPolicy allows it).
   */
  contentCapture?: 'none' | 'redacted' | 'full';
  /**
   * Head sampling applied by the instrumented SDKs, before anything is known about a trace. For tail sampling in the processor (keep traces with errors, high latency or cost, failed evaluations), see quality.tailSampling.
   */
  sampling?: {
    /**
     * Fraction of traces recorded, from 0 to 1 (parentbased_traceidratio).
     */
    ratio?: number;
  };
  /**
   * Extra environment variables for instrumented containers. Never overrides a variable the container sets itself.
   *
   * @maxItems 64
   */
  env?: {
    name: string;
    value?: string;
  }[];
  /**
   * Extra OpenTelemetry resource attributes, added to OTEL_RESOURCE_ATTRIBUTES.
   */
  resourceAttributes?: {
    [k: string]: string | undefined;
  };
  /**
   * How the llmobs processor runs for this namespace.
   */
  processor?: {
    /**
     * gateway runs one processor Deployment and Service in the namespace; sidecar runs a processor in every instrumented pod, so raw prompts never leave the pod.
     */
    mode?: 'gateway' | 'sidecar';
    /**
     * Gateway replicas (gateway mode only).
     */
    replicas?: number;
    /**
     * Processor image; the chart's default when empty.
     */
    image?: string;
    /**
     * Resources of the processor container.
     */
    resources?: {
      limits?: {
        [k: string]: number | string | undefined;
      };
      requests?: {
        [k: string]: number | string | undefined;
      };
    };
  };
  /**
   * PII redaction applied by the processor (llm_redaction) to attributes, events and log bodies.
   */
  redaction?: {
    /**
     * Built-in entity types to redact. Policies may add to this list, never remove from it.
     */
    entities?: ('email' | 'phone_number' | 'credit_card' | 'iban' | 'us_ssn' | 'ip_address' | 'api_key' | 'jwt')[];
    /**
     * Extra patterns (RE2 syntax) to redact, each under its own name.
     *
     * @maxItems 32
     */
    customPatterns?: {
      name: string;
      regex: string;
    }[];
    /**
     * Replace matches with a fixed mask, or with a keyed hash so equal values stay correlatable.
     */
    action?: 'mask' | 'hash';
  };
  /**
   * Token cost attributes (gen_ai.usage.cost.amount, gen_ai.usage.cost.currency and the readers' aliases) added to every LLM span by the processor (llm_cost). Prices come from, first match wins: prices here, then catalogueConfigMap, then the processor's built-in catalogue (USD).
   */
  cost?: {
    /**
     * Put a cost on LLM spans. When false, spans pass without cost attributes.
     */
    enabled?: boolean;
    /**
     * ISO 4217 code the prices are in. The built-in catalogue is in USD, so any other currency switches it off: every model then needs a price here or in catalogueConfigMap.
     */
    currency?: string;
    /**
     * Custom prices per million tokens (perHour for self-hosted models); they win over catalogueConfigMap and the built-in catalogue. Use them for fine-tuned models, negotiated rates and models the catalogue does not know.
     *
     * @maxItems 256
     */
    prices?: {
      /**
       * Model name as the instrumentation reports it (gen_ai.request.model / gen_ai.response.model), e.g. ft:gpt-4o-mini:acme:support:2026-09. Matched case-insensitively.
       */
      model: string;
      /**
       * Provider as gen_ai.provider.name spells it (openai, anthropic, azure.ai.openai, aws.bedrock, ...). Unset or empty applies the price whatever the provider.
       */
      provider?: string;
      /**
       * Other model names billed at exactly these prices (dated snapshots, marketing names).
       *
       * @maxItems 32
       */
      aliases?: string[];
      /**
       * Price of one million uncached input tokens.
       */
      inputPerMillion?: number;
      /**
       * Price of one million output tokens.
       */
      outputPerMillion?: number;
      /**
       * Price of one million input tokens read from the prompt cache.
       */
      cacheReadPerMillion?: number;
      /**
       * Price of one million tokens written to the prompt cache with the default (5 minute) lifetime, or an unknown one; billed as input when unset.
       */
      cacheWritePerMillion?: number;
      /**
       * Price of one million tokens written to the prompt cache with a 1 hour lifetime.
       */
      cacheWrite1hPerMillion?: number;
      /**
       * Price of one million reasoning (thinking) tokens; billed as output when unset.
       */
      reasoningPerMillion?: number;
      /**
       * Self-hosted or provisioned capacity: price per hour of span duration, used instead of token prices (only when this entry has no token price).
       */
      perHour?: number;
    }[];
    /**
     * Reported model names to price as another model, e.g. an Azure OpenAI deployment name (chat-prod) to the model it serves (gpt-4o), or an inference profile to its model.
     *
     * @maxItems 256
     */
    modelAliases?: {
      /**
       * Model name as reported (gen_ai.request.model / gen_ai.response.model); matched case-insensitively.
       */
      from: string;
      /**
       * Model id to price it as, from prices, catalogueConfigMap or the built-in catalogue.
       */
      to: string;
    }[];
    /**
     * A ConfigMap in this namespace holding an extra price catalogue (the processor's catalogue format, YAML or JSON, in this currency), consulted after prices and before the built-in catalogue. Mounted into the gateway (gateway mode only); the gateway reads it at startup, so restart it after changing the ConfigMap (kubectl rollout restart).
     */
    catalogueConfigMap?: {
      /**
       * ConfigMap name.
       */
      name: string;
      /**
       * Key of the ConfigMap that holds the catalogue.
       */
      key: string;
    };
  };
  /**
   * Bounds on the metric series the processor lets through (cardinality_limit), applied to the metrics applications send and to the metrics derived from spans. A series over the bound is folded into one overflow series (otel.metric.overflow=true) instead of being dropped.
   */
  cardinality?: {
    /**
     * Distinct attribute sets kept per metric name; further ones go to the overflow series.
     */
    maxSeriesPerMetric?: number;
    /**
     * Caps on the distinct values of one attribute (e.g. gen_ai.request.model): past maxValues, new values become __other__, so the attribute stays groupable while its cardinality is bounded.
     *
     * @maxItems 32
     */
    attributeValueCaps?: {
      /**
       * Exact attribute key (no globs).
       */
      key: string;
      /**
       * Distinct values kept; a value frees its slot after 10 minutes unseen.
       */
      maxValues: number;
    }[];
    /**
     * Data point attribute keys to remove from metrics before series are counted, as exact keys or globs (user.*, *.id); points that then share their attributes are merged.
     *
     * @maxItems 64
     */
    excludeAttributes?: string[];
  };
  /**
   * GenAI metrics derived from spans by the processor (llm_metrics): token usage, operation duration, time to first chunk, calls and cost per model. They pass through the cardinality bounds, are exported over OTLP to the exporters that take metrics and, by default, served for Prometheus on port 8889 at /metrics.
   */
  metrics?: {
    /**
     * Derive metrics from spans.
     */
    enabled?: boolean;
    /**
     * Span or resource attributes to add to the derived metrics' attributes, on top of gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model, gen_ai.response.model and error.type (e.g. team, gen_ai.agent.name). Each one multiplies the series: keep to attributes with few values.
     *
     * @maxItems 16
     */
    dimensions?: {
      /**
       * Attribute key, looked up on the span, then on its resource.
       */
      name: string;
      /**
       * Value when neither the span nor its resource has the attribute; unset leaves the attribute out.
       */
      default?: string;
    }[];
    /**
     * Serve the derived metrics for Prometheus to scrape, on port 8889 at /metrics (container and gateway Service port genai-metrics). In sidecar mode each instrumented pod serves them.
     */
    prometheus?: {
      enabled?: boolean;
    };
  };
  /**
   * How the processor judges traces and decides which to keep: tail sampling that keeps every trace showing a problem and a share of the rest (llm_sampling), an LLM judge answering TRUE/FALSE rubrics about a share of the model calls (llm_evaluation), and an HTTP endpoint for user feedback (llm_feedback). All three are off by default. Unlike spec.sampling (head sampling in the SDKs, decided before anything is known about a trace), tail sampling decides once a trace is complete.
   */
  quality?: {
    /**
     * Tail sampling by the processor (llm_sampling, last in the traces pipeline). Spans are held per trace until it is complete (at the latest 5s after its root span arrived, or decisionWait after its first span); then the whole trace is kept if any span shows an error, a guardrail intervention, a failed validation or evaluation, negative user feedback, a latency of at least latencyThreshold or a cost of at least costThreshold, and otherwise kept at keepPercentage, decided by trace id so every processor agrees. A trace with calls queued for judging waits for their verdicts (up to decisionWait); user feedback counts only if it arrives before the decision. Every span of a trace must reach the same processor: with processor.replicas above 1 each replica would judge part of a trace (the operator does not route by trace id), so that is refused. In sidecar mode each pod's processor judges the spans of its own pod: a trace crossing several instrumented pods can be kept in one pod and dropped in another when only one of them shows the problem. Metrics derived from spans (spec.metrics) are computed before sampling and stay exact.
     */
    tailSampling?: {
      /**
       * Tail-sample traces in the processor.
       */
      enabled?: boolean;
      /**
       * Share of the normal traces (those no rule keeps) that are kept, from 0 (only traces with a problem) to 100 (every trace). It applies after spec.sampling.ratio: the two multiply.
       */
      keepPercentage?: number;
      /**
       * Keep a trace when one of its spans, or the trace from first start to last end, lasted at least this long. A duration such as 30s, 1m30s or 2.5s.
       */
      latencyThreshold?: string;
      /**
       * Keep a trace whose LLM calls together cost at least this much, in spec.cost.currency (the cost llm_cost puts on each call, or the cost the instrumentation records when cost is off; currencies are not converted).
       */
      costThreshold?: number;
      /**
       * Decide a trace at the latest this long after its first span arrived, for traces whose root span never comes (recorded by something that does not send here); a trace whose root arrives is decided 5s after it, or at this wait if it is shorter. Longer waits hold more spans in memory. From 1s to 10m, e.g. 30s.
       */
      decisionWait?: string;
    };
    /**
     * LLM-as-judge by the processor (llm_evaluation), off the request path. For a share of the traces (all their model calls) and for every failed call, the processor asks an OpenAI-compatible judge model each rubric's TRUE/FALSE question about the call's input and output, after redaction. Each verdict becomes an "evaluate <rubric>" span in the judged call's trace (gen_ai.evaluation.* attributes and the gen_ai.evaluation.result event), which tail sampling sees, and is counted in the llmobs.eval.verdicts metric next to the derived metrics. The judge needs recorded content (contentCapture redacted or full, or content the application records itself): calls without it are skipped. A slow, failing or over-budget judge costs verdicts, never telemetry. Budgets hold per processor: per gateway replica, or per pod in sidecar mode.
     */
    evaluation?: {
      /**
       * Judge model calls; needs judge and rubrics.
       */
      enabled?: boolean;
      /**
       * The judge model, behind any OpenAI-compatible chat completions API (OpenAI, a proxy, vLLM, Ollama).
       */
      judge?: {
        /**
         * Base URL of the API: the processor POSTs to <endpoint>/chat/completions, e.g. https://api.openai.com/v1 or http://vllm.models:8000/v1. The judge receives the redacted content of the calls it judges, so an LLMObservabilityPolicy's exporters.allowedEndpoints applies to it as to exporters.
         */
        endpoint: string;
        /**
         * Model the judge is asked to answer with, e.g. gpt-4o-mini.
         */
        model: string;
        /**
         * A key of a Secret in this namespace holding the judge's API key, sent as Authorization: Bearer. The processor container reads it from its environment: the key never enters the rendered config. Leave it out for a judge that needs no key.
         */
        apiKeySecretRef?: {
          /**
           * Secret name.
           */
          name: string;
          /**
           * Key of the Secret that holds the API key.
           */
          key: string;
        };
        /**
         * Per judge call; a verdict not back by then is given up and counted. A duration, e.g. 20s.
         */
        timeout?: string;
      };
      /**
       * The questions asked about each judged call, one judge call per rubric; TRUE passes, so phrase each question so that TRUE is the good answer.
       *
       * @minItems 1
       * @maxItems 16
       */
      rubrics?: [
        {
          /**
           * Names the verdicts (gen_ai.evaluation.name on the verdict spans and metrics), e.g. grounded: lower case letters, digits and underscores.
           */
          name: string;
          /**
           * A yes/no question about the answer, e.g. "Does the answer address the user's question?".
           */
          question: string;
          /**
           * The question is about the documents retrieved in the same trace (e.g. "Is every claim supported by the documents?"): the judge sees them, and calls without retrieved documents are skipped for this rubric.
           */
          needsDocuments?: boolean;
        },
        ...{
          /**
           * Names the verdicts (gen_ai.evaluation.name on the verdict spans and metrics), e.g. grounded: lower case letters, digits and underscores.
           */
          name: string;
          /**
           * A yes/no question about the answer, e.g. "Does the answer address the user's question?".
           */
          question: string;
          /**
           * The question is about the documents retrieved in the same trace (e.g. "Is every claim supported by the documents?"): the judge sees them, and calls without retrieved documents are skipped for this rubric.
           */
          needsDocuments?: boolean;
        }[]
      ];
      /**
       * Share of the traces whose model calls are judged, from 0 to 100, decided by trace id (the same on every processor). Failed calls are judged whatever the share.
       */
      samplingPercentage?: number;
      /**
       * Caps on the judge's calls, over sliding windows; a judgment over a cap is skipped and counted (llmobs_eval_skipped_total), never queued without bound.
       */
      budget?: {
        /**
         * Judge calls per minute, at most.
         */
        maxRequestsPerMinute?: number;
        /**
         * USD spent on judge calls per hour, at most; unset means no cost cap. It needs the judge model's price: the processor's built-in catalogue has the common hosted models, any other model (self-hosted, fine-tuned, a proxy's alias) needs judgePrice, or the processor refuses its config (its log names judge.price).
         */
        maxCostPerHour?: number;
      };
      /**
       * The judge model's price in USD per million tokens, to count the judge's cost (llmobs.eval.judge.cost) and hold budget.maxCostPerHour. Wins over the processor's built-in catalogue; needed with maxCostPerHour for a model the catalogue does not know.
       */
      judgePrice?: {
        /**
         * USD per million input (prompt) tokens.
         */
        input: number;
        /**
         * USD per million output (completion) tokens.
         */
        output: number;
      };
    };
    /**
     * An HTTP endpoint for user feedback (llm_feedback, port 4320): POST /v1/feedback with {"trace_id": "<32 hex>", "span_id": "<16 hex, the answer's call>", "value": "thumbs_down", "score": -1, "comment": "..."} (value thumbs_up or thumbs_down, or score from -1 to 1), or an array of such objects. Each one becomes a feedback span in that trace: negative feedback keeps the trace under tail sampling if it arrives before the trace is decided, and with evaluation on it is counted in llmobs.eval.verdicts as user_feedback, next to the judge's verdicts. In gateway mode it listens on the gateway Service's port feedback (4320) for anything that can reach the Service; in sidecar mode on 127.0.0.1:4320 inside each instrumented pod.
     */
    feedback?: {
      /**
       * Serve the feedback endpoint.
       */
      enabled?: boolean;
    };
  };
  /**
   * Opt-in restart of the workloads (Deployments, StatefulSets, DaemonSets) whose pods were instrumented from an older configuration (llmobs.dev/config-hash differs from status.configHash), the way kubectl rollout restart does it: each workload's pod template gets kubectl.kubernetes.io/restartedAt and llmobs.dev/restarted-for-hash, so it is restarted at most once per configuration.
   */
  rollout?: {
    /**
     * Restart outdated workloads. Off by default; status.outdatedPods is reported either way.
     */
    enabled?: boolean;
    /**
     * Most workloads restarted per minute (a token bucket); the rest wait, counted in status.rollout.pendingWorkloads.
     */
    maxWorkloadsPerMinute?: number;
    /**
     * Stop restarting while a selected pod created after the last restart is in CrashLoopBackOff or restarting repeatedly (condition RolloutPaused); restarts resume when the crash clears or the resource changes.
     */
    pauseOnCrashLoop?: boolean;
  };
  /**
   * Where processed telemetry goes. Credentials stay with the processor and never reach application pods.
   *
   * @minItems 1
   * @maxItems 8
   */
  exporters?: [
    {
      /**
       * Becomes the exporter id (otlp_http/<name> or otlp_grpc/<name>).
       */
      name: string;
      /**
       * OTLP endpoint, e.g. http://tempo-distributor.observability:4318 or datadog-agent.datadog:4317.
       */
      endpoint: string;
      protocol?: 'grpc' | 'http/protobuf';
      /**
       * Plaintext gRPC (no TLS).
       */
      insecure?: boolean;
      /**
       * The signals sent to this exporter: traces, metrics (the applications' and the GenAI metrics derived from spans) and logs; all three unless set. Pick what the backend accepts: Jaeger and Grafana Tempo take traces only, so set [traces] (otherwise the processor sends them metrics and logs they answer with 404, logging an error and dropping data at every flush); Datadog takes all three. When no exporter takes traces they are logged (debug exporter). When none takes metrics or logs, that pipeline is left out and the processor refuses that signal from the applications: switch their SDKs' exporter off in spec.env (OTEL_METRICS_EXPORTER or OTEL_LOGS_EXPORTER none). The derived GenAI metrics still reach Prometheus when metrics.prometheus is on; with it off and no exporter taking metrics, none are derived.
       *
       * @minItems 1
       * @maxItems 3
       */
      signals?: ['traces' | 'metrics' | 'logs', ...('traces' | 'metrics' | 'logs')[]];
      /**
       * Request headers, e.g. DD-API-KEY or X-Scope-OrgID, each a literal value or a key of a Secret in this namespace.
       *
       * @maxItems 16
       */
      headers?: {
        name: string;
        value?: string;
        secretKeyRef?: {
          name: string;
          key: string;
        };
      }[];
    },
    ...{
      /**
       * Becomes the exporter id (otlp_http/<name> or otlp_grpc/<name>).
       */
      name: string;
      /**
       * OTLP endpoint, e.g. http://tempo-distributor.observability:4318 or datadog-agent.datadog:4317.
       */
      endpoint: string;
      protocol?: 'grpc' | 'http/protobuf';
      /**
       * Plaintext gRPC (no TLS).
       */
      insecure?: boolean;
      /**
       * The signals sent to this exporter: traces, metrics (the applications' and the GenAI metrics derived from spans) and logs; all three unless set. Pick what the backend accepts: Jaeger and Grafana Tempo take traces only, so set [traces] (otherwise the processor sends them metrics and logs they answer with 404, logging an error and dropping data at every flush); Datadog takes all three. When no exporter takes traces they are logged (debug exporter). When none takes metrics or logs, that pipeline is left out and the processor refuses that signal from the applications: switch their SDKs' exporter off in spec.env (OTEL_METRICS_EXPORTER or OTEL_LOGS_EXPORTER none). The derived GenAI metrics still reach Prometheus when metrics.prometheus is on; with it off and no exporter taking metrics, none are derived.
       *
       * @minItems 1
       * @maxItems 3
       */
      signals?: ['traces' | 'metrics' | 'logs', ...('traces' | 'metrics' | 'logs')[]];
      /**
       * Request headers, e.g. DD-API-KEY or X-Scope-OrgID, each a literal value or a key of a Secret in this namespace.
       *
       * @maxItems 16
       */
      headers?: {
        name: string;
        value?: string;
        secretKeyRef?: {
          name: string;
          key: string;
        };
      }[];
    }[]
  ];
}

/**
 * What the operator observed and did.
 */
export interface LLMObservabilityStatus {
  observedGeneration?: number;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    observedGeneration?: number;
    lastTransitionTime: string;
    reason: string;
    message: string;
  }[];
  /**
   * Pods carrying the current configuration.
   */
  instrumentedPods?: number;
  /**
   * Pods instrumented from an older configuration (see llmobs.dev/config-hash).
   */
  outdatedPods?: number;
  /**
   * Running pods this resource selects that carry no instrumentation: created while the webhook was unavailable (it fails open), refused by it with an error, or older than the resource. Restart their workloads to instrument them.
   */
  uninstrumentedPods?: number;
  /**
   * Hash of the rendered processor and injection configuration.
   */
  configHash?: string;
  /**
   * Where instrumented pods send OTLP.
   */
  processorEndpoint?: string;
  /**
   * Progress of spec.rollout for the current configHash.
   */
  rollout?: {
    /**
     * The configuration the counts below are for.
     */
    configHash?: string;
    /**
     * Workloads restarted for this configuration.
     */
    restartedWorkloads?: number;
    /**
     * Workloads with outdated pods still waiting for a restart (rate limit or pause).
     */
    pendingWorkloads?: number;
    /**
     * When the operator last restarted a workload of this resource.
     */
    lastRestartTime?: string;
  };
}

export interface LLMObservabilityPolicySpec {
  /**
   * Namespaces the policy applies to; an empty selector applies it to every namespace.
   */
  namespaceSelector?: {
    matchLabels?: {
      [k: string]: string | undefined;
    };
    /**
     * @maxItems 16
     */
    matchExpressions?: {
      key: string;
      operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
      values?: string[];
    }[];
  };
  redaction?: {
    /**
     * Entity types every selected namespace must redact, whatever its own resource says.
     */
    requiredEntities?: (
      'email' | 'phone_number' | 'credit_card' | 'iban' | 'us_ssn' | 'ip_address' | 'api_key' | 'jwt'
    )[];
  };
  contentCapture?: {
    /**
     * The most content capture a selected namespace may ask for: none forbids prompt content entirely, redacted allows it only through redaction, full allows unredacted content.
     */
    maxLevel?: 'none' | 'redacted' | 'full';
  };
  exporters?: {
    /**
     * Endpoints namespaced exporters may use, as exact values or prefixes ending in '*' (e.g. http://tempo-distributor.observability:*). Empty allows any endpoint. The same list holds for the evaluation judge (spec.quality.evaluation.judge.endpoint), which receives redacted prompt content.
     *
     * @maxItems 64
     */
    allowedEndpoints?: string[];
  };
}

export interface LLMObservabilityPolicyStatus {
  observedGeneration?: number;
  matchedNamespaces?: number;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    observedGeneration?: number;
    lastTransitionTime: string;
    reason: string;
    message: string;
  }[];
}
