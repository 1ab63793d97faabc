/** A stand-in redaction worker for the pool's tests: it takes jobs and never answers. */
import { parentPort } from 'node:worker_threads';
import { READY } from './worker-protocol.ts';

parentPort?.on('message', () => {});
parentPort?.postMessage(READY);
