// The llmobs Node.js instrumentation bundle's CommonJS entry point, for
// `NODE_OPTIONS=--require <bundle>/autoinstrumentation.js` (resources with nodejsHook: require). It starts the
// OpenTelemetry Node SDK from the OTEL_* variables with the GenAI instrumentation of openai, which hooks
// `require('openai')`; ES module imports are only seen by the --import entry point (autoinstrumentation.mjs).

const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const { NodeSDK } = require('@opentelemetry/sdk-node');

const sdk = new NodeSDK({ instrumentations: [new OpenAIInstrumentation()] });
sdk.start();

// Flush what is buffered when the pod is stopped, after the app's own SIGTERM handling.
process.once('SIGTERM', () => {
  sdk
    .shutdown()
    .catch((err) => console.error('llmobs instrumentation: shutdown failed:', err))
    .finally(() => process.exit(0));
});
