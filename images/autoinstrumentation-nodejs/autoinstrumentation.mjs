// The llmobs Node.js instrumentation bundle's ES module entry point (the webhook's default hook).
//
// The webhook's init container copies the bundle into the pod and appends
// `--import <bundle>/autoinstrumentation.mjs` to NODE_OPTIONS, so Node.js runs this before the app: it starts
// the OpenTelemetry Node SDK (configured from the OTEL_* variables the webhook injected) with the GenAI
// instrumentation of openai, hooked into ES module loading with import-in-the-middle (CommonJS requires are
// hooked by require-in-the-middle, inside the instrumentation). Every package resolves from the bundle's own
// node_modules. `make demo` and test/images/bundles.it.test.ts run their apps on this bundle.
import { register } from 'node:module';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

const sdk = new NodeSDK({ instrumentations: [new OpenAIInstrumentation()] });
sdk.start();
// The hooks must reach the loader thread before the app imports what they patch.
await waitForAllMessagesAcknowledged();

// Flush what is buffered when the pod is stopped, after the app's own SIGTERM handling.
process.once('SIGTERM', () => {
  sdk
    .shutdown()
    .catch((err) => console.error('llmobs instrumentation: shutdown failed:', err))
    .finally(() => process.exit(0));
});
