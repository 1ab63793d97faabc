"""An OpenAI client instrumented by one of three OpenTelemetry instrumentations, for the integration tests.

    <venv python> test/clients/python/client.py <openai-v2|openllmetry|openinference> <chat|stream|tools|error|embed>

Environment:
    LLM_BASE_URL        the OpenAI-compatible base URL, ending in /v1 (required)
    LLM_MODEL           model name (default mock-gpt; the error scenario defaults to mock-error-429)
    LLM_PROMPT          the user message (default: a fixed question)
    OPENAI_API_KEY      sent as the bearer token (default: a dummy key)
    OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
                        the standard SDK variables; spans go out as OTLP/HTTP protobuf
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
                        the official instrumentation records message content only when this is true

Prints one JSON line describing what the LLM answered, so a test can compare spans with it. Exits 0 once the
spans are exported, 3 when exporting failed, 1 on any other unexpected failure.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Sequence

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

VARIANTS = ("openai-v2", "openllmetry", "openinference")
SCENARIOS = ("chat", "stream", "tools", "error", "embed")

SYSTEM = "You are a helpful assistant."
DEFAULT_PROMPT = "What is the capital of France?"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class CheckedExporter(SpanExporter):
    """Remembers whether any export failed: the SDK only logs it, and a test would then just time out."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.failed = False
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed = True
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def instrument(variant: str, provider: TracerProvider) -> None:
    # Each import is only available in that variant's venv.
    if variant == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    elif variant == "openllmetry":
        # Traceloop's package is the one WITHOUT the -v2 suffix, under the official-looking module name.
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # type: ignore[no-redef]
    else:
        from openinference.instrumentation.openai import OpenAIInstrumentor  # type: ignore[no-redef]
    OpenAIInstrumentor().instrument(tracer_provider=provider)


def usage_dict(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    return usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)


def run(scenario: str, client: Any, model: str, prompt: str) -> dict[str, Any]:
    import openai

    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": prompt},
    ]
    if scenario == "chat":
        res = client.chat.completions.create(model=model, messages=messages)
        choice = res.choices[0]
        return {
            "content": choice.message.content,
            "finish_reason": choice.finish_reason,
            "usage": usage_dict(res.usage),
            "response_id": res.id,
        }
    if scenario == "stream":
        stream = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        text, finish, usage, response_id = "", None, None, None
        for chunk in stream:
            response_id = response_id or chunk.id
            if chunk.usage is not None:
                usage = usage_dict(chunk.usage)
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
        return {"content": text, "finish_reason": finish, "usage": usage, "response_id": response_id}
    if scenario == "tools":
        first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
        msg = first.choices[0].message
        calls = msg.tool_calls or []
        if not calls:
            raise RuntimeError(f"expected a tool call, got {first.choices[0].finish_reason}: {msg.content!r}")
        messages.append(msg.model_dump(exclude_none=True))
        for call in calls:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 degrees and cloudy"})
        second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
        return {
            "tool_calls": [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in calls],
            "content": second.choices[0].message.content,
            "finish_reason": second.choices[0].finish_reason,
            "usage": [usage_dict(first.usage), usage_dict(second.usage)],
        }
    if scenario == "error":
        try:
            client.chat.completions.create(model=model, messages=messages)
        except openai.APIStatusError as err:
            return {"error": {"status": err.status_code, "type": type(err).__name__, "message": err.message}}
        raise RuntimeError(f"expected the LLM call with model {model!r} to fail, it succeeded")
    if scenario == "embed":
        res = client.embeddings.create(model=model, input=[prompt])
        return {"dimensions": len(res.data[0].embedding), "usage": usage_dict(res.usage)}
    raise AssertionError(scenario)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in VARIANTS or argv[2] not in SCENARIOS:
        print(f"usage: client.py <{'|'.join(VARIANTS)}> <{'|'.join(SCENARIOS)}>", file=sys.stderr)
        return 2
    variant, scenario = argv[1], argv[2]
    base_url = os.environ.get("LLM_BASE_URL")
    if not base_url:
        print("client.py: LLM_BASE_URL is required", file=sys.stderr)
        return 2
    default_model = {"error": "mock-error-429", "embed": "mock-embedding"}.get(scenario, "mock-gpt")
    model = os.environ.get("LLM_MODEL") or default_model
    prompt = os.environ.get("LLM_PROMPT") or DEFAULT_PROMPT

    # Resource.create() picks up OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the exporter picks up
    # OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
    provider = TracerProvider(resource=Resource.create())
    exporter = CheckedExporter(OTLPSpanExporter())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    instrument(variant, provider)

    # Imported after instrumenting, as an application started by auto-instrumentation would be.
    import openai

    client = openai.OpenAI(
        base_url=base_url,
        api_key=os.environ.get("OPENAI_API_KEY") or "mock-key",
        max_retries=0,
        timeout=30,
    )
    status = 0
    try:
        out = run(scenario, client, model, prompt)
        print(json.dumps({"variant": variant, "scenario": scenario, "model": model, **out}), flush=True)
    except Exception as err:  # noqa: BLE001 - reported, then the spans are still flushed
        print(f"client.py: {variant} {scenario} failed: {type(err).__name__}: {err}", file=sys.stderr)
        status = 1
    provider.force_flush()
    provider.shutdown()
    if exporter.failed and status == 0:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "(default)"
        )
        print(f"client.py: exporting spans to {endpoint} failed", file=sys.stderr)
        status = 3
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
