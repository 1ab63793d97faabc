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
   * Head sampling applied by the instrumented SDKs.
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
   * Token cost attributes (gen_ai.usage.cost.*) added by the processor (llm_cost).
   */
  cost?: {
    enabled?: boolean;
    /**
     * ISO 4217 code the prices are in.
     */
    currency?: string;
    /**
     * Custom prices per million tokens; they win over the built-in catalogue.
     *
     * @maxItems 256
     */
    prices?: {
      /**
       * Model name as the instrumentation reports it (gen_ai.request.model / gen_ai.response.model).
       */
      model: string;
      provider?: string;
      inputPerMillion?: number;
      outputPerMillion?: number;
      cacheReadPerMillion?: number;
      cacheWritePerMillion?: number;
    }[];
  };
  /**
   * Bounds on the number of metric series the processor lets through (cardinality_limit).
   */
  cardinality?: {
    maxSeriesPerMetric?: number;
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
   * Hash of the rendered processor and injection configuration.
   */
  configHash?: string;
  /**
   * Where instrumented pods send OTLP.
   */
  processorEndpoint?: string;
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
     * Endpoints namespaced exporters may use, as exact values or prefixes ending in '*' (e.g. http://tempo-distributor.observability:*). Empty allows any endpoint.
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
