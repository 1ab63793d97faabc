# `make demo`'s local stand-in for the llmobs Python instrumentation bundle.
#
# In a cluster, the webhook adds an init container that copies the bundle image into the pod and puts
# <bundle>/opentelemetry/instrumentation/auto_instrumentation first on PYTHONPATH, so Python imports the
# bundle's sitecustomize.py before the app and the app is instrumented without a code change. The demo runs
# the app as a local process with the pod's env, the bundle path pointed at this folder, under the venv of
# the test clients' `openai-v2` variant (tools/python-venv.sh: the openai SDK, the OpenTelemetry SDK, the
# OTLP/HTTP exporter and the official GenAI instrumentation of openai). That venv has no opentelemetry-distro,
# whose distro and configurator a bundle uses, so this file does what they would: default every signal to
# OTLP (the plain SDK exports nothing unless told), set the SDK up from the OTEL_* variables the webhook
# injected, then load every installed instrumentor. No __init__.py on the way here on purpose: `opentelemetry`
# stays one namespace package with the venv's.
import os

from opentelemetry.instrumentation.auto_instrumentation import initialize
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

# opentelemetry-distro's defaults; what the pod sets (OTEL_METRICS_EXPORTER=none, ...) wins.
for _signal in ("TRACES", "METRICS", "LOGS"):
    os.environ.setdefault(f"OTEL_{_signal}_EXPORTER", "otlp")
os.environ.setdefault("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

_OTelSDKConfigurator().configure(auto_instrumentation_version="llmobs-demo")
initialize()
