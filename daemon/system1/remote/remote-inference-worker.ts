import { parentPort, workerData } from 'node:worker_threads';
import { errorText } from '../../util/index.ts';
import type { InferenceClose, InferenceStatus, InferenceWorkerData } from '../control/loop-protocol.ts';
import { OpenpiClient } from './openpi-client.ts';
import { declaredChunk, openpiOptions } from './remote-settings.ts';
import { RemoteInference } from './remote-inference.ts';

// The inference side of a loop whose policy an openpi server serves, in a thread of its own as a local policy's
// session is (inference-worker.ts): the websocket's frames and their msgpack are read here, off the daemon's main
// thread and off the loop's. It is ready at once: the server may be down at the start, and the loop holds until it
// is up. Its status goes to the thread that started it (InferenceThread) at each change.
const { policyName, policy, output, port } = workerData as InferenceWorkerData;
const status = (m: InferenceStatus): void => parentPort!.postMessage(m);

let settings: { options: ReturnType<typeof openpiOptions>; chunk: [number, number] } | undefined;
try {
  settings = { options: openpiOptions(policyName, policy, output), chunk: declaredChunk(policyName, policy, output) };
} catch (error) {
  status({ kind: 'fatal', message: errorText(error) });
}
if (settings) {
  status({ kind: 'ready' });
  const remote = new RemoteInference({
    port,
    client: new OpenpiClient(settings.options),
    chunk: settings.chunk,
    timeoutMs: policy.remote!.timeout_ms,
    onStatus: (s) => status({ kind: 'remote', status: s }),
  });
  parentPort!.once('message', (_: InferenceClose) => void remote.close().then(() => process.exit(0)));
}
