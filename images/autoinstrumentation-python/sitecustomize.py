# The llmobs Python instrumentation bundle's entry point.
#
# The webhook's init container copies the bundle into the pod and puts
# <bundle>/opentelemetry/instrumentation/auto_instrumentation first on PYTHONPATH, so Python imports this file
# before the app and the app is instrumented without a code change. build.sh installs it over the
# sitecustomize.py opentelemetry-instrumentation ships, which relies on opentelemetry-distro; the bundle has no
# distro, so this file does what the distro and its configurator would: default every signal to OTLP (the plain
# SDK exports nothing unless told), set the SDK up from the OTEL_* variables the webhook injected, then load
# every installed instrumentor. `make demo` and test/images/bundles.it.test.ts run their apps on this bundle.
import os

from opentelemetry.instrumentation.auto_instrumentation import initialize
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

# opentelemetry-distro's defaults; what the pod sets (OTEL_METRICS_EXPORTER=none, ...) wins.
for _signal in ("TRACES", "METRICS", "LOGS"):
    os.environ.setdefault(f"OTEL_{_signal}_EXPORTER", "otlp")
# The bundle has the OTLP/HTTP exporter only (the webhook always sets the protocol with the endpoint).
os.environ.setdefault("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")

_OTelSDKConfigurator().configure(auto_instrumentation_version="llmobs-bundle")
initialize()
