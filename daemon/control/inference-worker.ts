import { workerData, type MessagePort } from 'node:worker_threads';
import { PolicyRunner } from '../../adapters/lerobot/policy-runner.ts';
import type { PolicySettings } from '../config/sections/system1.ts';
import type { InferenceReply, InferenceRequest } from './loop-protocol.ts';

// The inference side of async chunking: runs the policy on each observation the loop sends and replies
// with the chunk. It may take many loop periods; the loop keeps executing its queue meanwhile.
// Replies go over a port the loop polls with receiveMessageOnPort, so the loop never has to yield for them.
const { policyName, policy, output, port } = workerData as { policyName: string; policy: PolicySettings; output: string; port: MessagePort };
const post = (m: InferenceReply): void => port.postMessage(m);

try {
  const runner = await PolicyRunner.open(policyName, policy);
  /** The run in flight: a close waits for it (see closeWorker: this thread must never be terminated in a run). */
  let inFlight: Promise<unknown> = Promise.resolve();
  port.on('message', (req: InferenceRequest) => {
    if ('close' in req) {
      void inFlight.then(async () => {
        await runner.close();
        process.exit(0);
      });
      return;
    }
    const started = performance.now();
    inFlight = runner.run(req.inputs).then(
      (outputs) => {
        const o = outputs[output]!;
        post({ kind: 'chunk', timestep: req.timestep, data: o.data, dim: o.dim, inferenceUs: Math.round((performance.now() - started) * 1000) });
      },
      (error: unknown) => post({ kind: 'error', timestep: req.timestep, message: (error as Error).message }),
    );
  });
  post({ kind: 'ready' });
} catch (error) {
  post({ kind: 'fatal', message: (error as Error).message });
}
