import { parentPort, workerData } from 'node:worker_threads';
import { PolicyRunner } from '../policy-runner.ts';
import type {
  InferenceClose,
  InferenceReply,
  InferenceRequest,
  InferenceStatus,
  InferenceWorkerData,
} from './loop-protocol.ts';
import { errorText } from '../../util/index.ts';

// The inference side of async chunking: runs the policy on each observation the loop thread sends and
// replies with the chunk. It may take many loop periods; the loop keeps executing its queue meanwhile.
// Chunks go over the channel the loop thread polls with receiveMessageOnPort, so the loop never has to
// yield for them. The main thread started this thread: it hears `ready` or `fatal`, asks for the close,
// and sees the thread die (an uncaught error, an exit), which ends the loop as a crash.
const { policyName, policy, output, port } = workerData as InferenceWorkerData;
const status = (m: InferenceStatus): void => parentPort!.postMessage(m);
const reply = (m: InferenceReply): void => port.postMessage(m);

// No top-level await: workers load their entry as CommonJS (see daemon/util/spawn-worker.ts).
async function main(): Promise<void> {
  try {
    const runner = await PolicyRunner.open(policyName, policy);
    // Its first chunk would otherwise pay the session's first run, and the loop underrun meanwhile.
    await runner.warmUp();
    /** The run in flight: a close waits for it (see closeWorker: this thread must never be terminated in a run). */
    let inFlight: Promise<unknown> = Promise.resolve();
    port.on('message', (req: InferenceRequest) => {
      const started = performance.now();
      inFlight = runner.run(req.inputs).then(
        (outputs) => {
          const o = outputs[output]!;
          reply({
            kind: 'chunk',
            timestep: req.timestep,
            data: o.data,
            dim: o.dim,
            inferenceUs: Math.round((performance.now() - started) * 1000),
          });
        },
        (error: unknown) => reply({ kind: 'error', timestep: req.timestep, message: errorText(error) }),
      );
    });
    parentPort!.once('message', (_: InferenceClose) => {
      void inFlight.then(async () => {
        await runner.close();
        process.exit(0);
      });
    });
    status({ kind: 'ready' });
  } catch (error) {
    status({ kind: 'fatal', message: errorText(error) });
  }
}

void main();
