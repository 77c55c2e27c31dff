// A worker thread for thread-scheduling.test.ts: applies the requested scheduling to itself, reports the
// result, and stays alive (so the test can read its /proc entry) until told to exit.
import { parentPort, workerData } from 'node:worker_threads';
import { applyThreadScheduling, type SchedulingRequest } from '../../daemon/util/thread-scheduling.ts';

parentPort!.postMessage(applyThreadScheduling(workerData.request as SchedulingRequest));
parentPort!.once('message', () => process.exit(0));
