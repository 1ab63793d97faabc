/**
 * What runs when no --config is given: OTLP in on the Collector's default ports (localhost only),
 * the debug exporter out, health on 13133 and self-metrics on 8888.
 */
export const DEFAULT_CONFIG_YAML = `
extensions:
  health_check:
    endpoint: localhost:13133
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
      http:
        endpoint: localhost:4318
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
exporters:
  debug:
    verbosity: basic
service:
  extensions: [health_check]
  telemetry:
    metrics:
      address: localhost:8888
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [debug]
`;
