// `make demo`'s local stand-in for the llmobs Node.js instrumentation bundle.
//
// In a cluster, the webhook adds an init container that copies the bundle image into the pod and appends
// `--import <bundle>/autoinstrumentation.mjs` to NODE_OPTIONS, so Node.js runs this before the app and the
// app is instrumented without a code change. The demo runs the app as a local process with the pod's env,
// the bundle path pointed at this folder, and this file stands in for the bundle's with the packages the
// repository already has: the OpenTelemetry Node SDK (configured from the OTEL_* variables the webhook
// injected) and the GenAI instrumentation of openai, hooked into ES module loading with import-in-the-middle.
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
