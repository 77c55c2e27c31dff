// TEST ONLY. A worker entry for soak-worker-threads.test.ts: TypeScript that imports a project module, says
// what it computed, and exits.
import { parentPort } from 'node:worker_threads';
import { crc32 } from '../../daemon/util/crc32.ts';

const typed: number = crc32(new TextEncoder().encode('soak'));
parentPort!.postMessage({ crc: typed });
