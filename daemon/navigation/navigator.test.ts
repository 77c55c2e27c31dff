import { describe, expect, it } from 'vitest';
import { Bus } from '../bus/bus.ts';
import { MessageCodec } from '../bus/codec.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { Navigator } from './navigator.ts';
import { tick } from '../../test/helpers/wait.ts';

function grid(width: number, fill: number) {
  return {
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'map' },
    info: {
      map_load_time: { sec: 0, nanosec: 0 },
      resolution: 0.05,
      width,
      height: width,
      origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
    },
    data: new Int8Array(width * width).fill(fill),
  };
}

describe('Navigator', () => {
  it('builds a planner for each new /map, not for a republished unchanged one', async () => {
    const bus = new Bus();
    const codec = new MessageCodec(new DefinitionsRegistry());
    const nav = new Navigator({ bus, codec });
    nav.start();
    const map = bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    map.publish(codec.encode('nav_msgs/msg/OccupancyGrid', grid(40, 0)));
    await tick();
    map.publish(codec.encode('nav_msgs/msg/OccupancyGrid', grid(40, 0)));
    await tick();
    expect(nav.mapsLoaded).toBe(1);
    map.publish(codec.encode('nav_msgs/msg/OccupancyGrid', grid(40, 100)));
    await tick();
    expect(nav.mapsLoaded).toBe(2);
    nav.close();
    bus.close();
  });

  it('answers no_data, naming what is missing, when no map or odometry arrives', async () => {
    const bus = new Bus();
    const nav = new Navigator({ bus, codec: new MessageCodec(new DefinitionsRegistry()) });
    nav.start();
    const result = await nav.navigateTo({ x: 1, y: 1 }, { dataTimeoutMs: 50 });
    expect(result).toMatchObject({
      reached: false,
      outcome: 'no_data',
      message: 'no /map and /odom received within 50 ms: is the robot (or sim) running?',
    });
    nav.close();
    bus.close();
  });
});
