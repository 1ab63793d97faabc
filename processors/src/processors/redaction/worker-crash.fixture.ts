/** A stand-in redaction worker for the pool's tests: it ends its thread as soon as a job arrives. */
import { parentPort } from 'node:worker_threads';
import { READY } from './worker-protocol.ts';

parentPort?.on('message', () => process.exit(3));
parentPort?.postMessage(READY);
