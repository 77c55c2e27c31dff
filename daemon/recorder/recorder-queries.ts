import type { Bus } from '../bus/index.ts';
import type { RecorderService } from '../contract/index.ts';

/**
 * rosbag2's recorder services as bus queries, for the robot's other processes and the agent's call_service:
 * `recorder/split`, `recorder/pause`, `recorder/resume`, each answering JSON (the split is not waited on for
 * indexing here: POST /recorder/split does that). Returns what stops serving them.
 */
export function serveRecorderQueries(
  bus: Bus,
  recorder: Pick<RecorderService, 'split' | 'pause' | 'resume'>,
): (() => void)[] {
  const json = (value: unknown) => ({
    encoding: 'application/json',
    payload: new TextEncoder().encode(JSON.stringify(value)),
  });
  return [
    bus.serve('recorder/split', async () => json({ split: (await recorder.split()) ?? null })),
    bus.serve('recorder/pause', async () => json(recorder.pause())),
    bus.serve('recorder/resume', async () => json(recorder.resume())),
  ];
}
