import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workerData, type MessagePort } from 'node:worker_threads';

// A stand-in for daemon/system1/control/inference-worker.ts that runs the real one and then dies on cue, as a
// thread does from an uncaught error or a process.exit in its code or a library's. The query of this
// module's URL (workerData.__url: it is loaded as CommonJS, see spawnTsWorker) says how and when
// (ControlLoopOptions.inferenceWorker, which no config reaches):
//   die=throw|exit   an uncaught error, or process.exit(3)
//   on=load|<n>      while loading (before `ready`), or on the n-th observation (the ones before it are served)
const data = workerData as { port: MessagePort; __url: string };
const query = new URL(data.__url).searchParams;
const die = (): never => {
  if (query.get('die') === 'exit') process.exit(3);
  throw new Error('injected fault in the inference thread');
};
if (query.get('on') === 'load') die();
const nth = Number(query.get('on'));
let seen = 0;
// Added before the real worker's listener, so it runs first on the fatal observation.
data.port.on('message', () => {
  if (++seen === nth) die();
});
// Loaded after the listener above (a static import would run first).
createRequire(fileURLToPath(data.__url))('../../daemon/system1/control/inference-worker.ts');
