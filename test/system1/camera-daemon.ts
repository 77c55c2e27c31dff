// A daemon with camera loops, for the tests and benches of what frames cost: each loop's policy takes one camera (an
// image input, its output each channel's mean), so a command that is not the safe action is a fresh frame seen.
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import { running, startDaemon } from '../helpers/daemon.ts';
import { writeChannelMeanModel } from './vision-models.ts';

export const IMAGE = 'sensor_msgs/msg/Image';
export const COMPRESSED = 'sensor_msgs/msg/CompressedImage';
export const FRONT = 'observation.images.front';
export const SAFE = [-1, -1];
const ARRAY = 'std_msgs/msg/Float64MultiArray';
export const codec = new MessageCodec(new DefinitionsRegistry());

/** A 16 x 12 rgb8 frame the loops take as it is (no decode). */
export const goodFrame = codec.encode(IMAGE, {
  height: 12,
  width: 16,
  encoding: 'rgb8',
  is_bigendian: 0,
  step: 48,
  data: new Uint8Array(16 * 12 * 3).map((_, i) => [255, 0, 51][i % 3]!),
});

export interface CameraDaemonOptions {
  dir: string;
  /** Each loop's camera topic is `/<name>`; its image settings as given. */
  loops: Record<string, Record<string, unknown>>;
  /** Policies only served (ai/inference/vla/<name>), on a camera input of the same model. */
  served?: string[];
  /** The `cameras` section. */
  cameras?: Record<string, unknown>;
  /** The image input's size (default 16 x 12). */
  input?: { width: number; height: number };
  /** Each loop's rate (default 50 Hz). */
  rateHz?: number;
  /** Each loop's max_observation_age_ms (default 300). */
  maxAgeMs?: number;
}

/**
 * Starts the daemon; `fresh[name]` is, per command of loop `name` (on `/cmd/<name>`), whether it came from a fresh
 * frame rather than the safe action.
 */
export async function startCameraDaemon(options: CameraDaemonOptions) {
  const {
    dir,
    loops,
    served = [],
    cameras = {},
    input = { width: 16, height: 12 },
    rateHz = 50,
    maxAgeMs = 300,
  } = options;
  const model = writeChannelMeanModel(dir, 'mean-cameras', { ...input, output: 'actions' });
  const policy = (name: string, image: Record<string, unknown>) => ({
    model,
    inputs: { [FRONT]: { image: { topic: `/${name}`, ...image } } },
    outputs: { actions: { command: { topic: `/cmd/${name}`, type: ARRAY } } },
  });
  const { daemon, stop } = await startDaemon(
    {
      api: { port: 0 },
      foxglove: { enabled: false },
      cameras,
      policies: {
        ...Object.fromEntries(Object.entries(loops).map(([name, image]) => [name, policy(name, image)])),
        ...Object.fromEntries(served.map((name) => [name, { ...policy(name, {}), serve: true }])),
      },
      control: {
        loops: Object.fromEntries(
          Object.keys(loops).map((name) => [
            name,
            { policy: name, rate_hz: rateHz, max_observation_age_ms: maxAgeMs, safe_action: SAFE },
          ]),
        ),
      },
    },
    'camera-daemon-',
  );
  const fresh: Record<string, boolean[]> = {};
  for (const name of Object.keys(loops)) {
    const seen: boolean[] = (fresh[name] = []);
    daemon.bus.subscribe({
      name: 'test',
      topic: `/cmd/${name}`,
      handler: (m) => void seen.push(codec.decode<{ data: Float64Array }>(m.type, m.data).data[0] !== SAFE[0]),
    });
  }
  const control = running(daemon, ControlComponent)!;
  const url = daemon.ports.get(PORTS.api)!.url!;
  return {
    daemon,
    stop,
    fresh,
    stats: (name: string) => control.loopStats().find((s) => s.name === name)!,
    camera: (name: string, type = IMAGE) => daemon.bus.advertise(`/${name}`, type, { source: 'test' }),
    post: async (path: string, body: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

/** The last `n` of a loop's commands all came from fresh frames. */
export const allFresh = (fresh: boolean[], n: number) => fresh.length >= n && fresh.slice(-n).every(Boolean);
