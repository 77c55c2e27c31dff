import { parentPort, workerData } from 'node:worker_threads';
import type { PolicySettings } from '../config/index.ts';
import { PolicyInputError, PolicyRunner } from './policy-runner.ts';
import type { ServingReply, ServingRequest } from './policy-thread.ts';
import { errorText } from '../util/index.ts';

// The serving side of ai/inference/vla/<policy>: onnxruntime-node's session.run computes on the calling
// thread (its promise only defers the call), so a served policy runs here, never on the daemon's main thread.
// Requests come one at a time (PolicyThread keeps at most one in flight); each is stateless.
const { policyName, policy } = workerData as { policyName: string; policy: PolicySettings };
const port = parentPort!;
const post = (m: ServingReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

// No top-level await: workers load their entry as CommonJS (see daemon/util/spawn-worker.ts).
async function main(): Promise<void> {
  try {
    const runner = await PolicyRunner.open(policyName, policy);
    /** The run in flight: a close waits for it (see closeWorker: this thread must never be terminated in a run). */
    let inFlight: Promise<unknown> = Promise.resolve();
    port.on('message', (req: ServingRequest) => {
      if ('close' in req) {
        void inFlight.then(async () => {
          await runner.close();
          process.exit(0);
        });
        return;
      }
      runner.reset();
      post({ kind: 'running', id: req.id });
      inFlight = runner.run(req.inputs).then(
        (outputs) => {
          post(
            { kind: 'outputs', id: req.id, outputs },
            Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer),
          );
        },
        (error: unknown) => {
          const code = error instanceof PolicyInputError ? error.code : undefined;
          post({ kind: 'error', id: req.id, code, message: errorText(error) });
        },
      );
    });
    post({ kind: 'ready', spec: runner.spec });
  } catch (error) {
    post({ kind: 'fatal', message: errorText(error) });
  }
}

void main();
