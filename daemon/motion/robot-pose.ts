import type { Bus, BusMessage, MessageCodec } from '../bus/index.ts';
import { nowNs } from '../util/index.ts';
import { poseOf, type OdometryMsg } from '../navigation/index.ts';
import type { RobotPose } from './geofence.ts';

/**
 * The robot's last pose, from the odometry the bus keeps (Bus.retainLatest: no subscriber, nothing queued), for
 * the geofence's hold on velocity commands. A message is decoded once, when it is asked for after it came: a
 * teleop panel's 50 commands a second read one pose per odometry message, not one each. `topic` is read at each
 * call (a reload may change agent.navigation.odom_topic).
 */
export function robotPose(bus: Bus, codec: MessageCodec, topic: () => string): () => RobotPose | undefined {
  const readers = new Map<string, () => BusMessage | undefined>();
  let decoded: { msg: BusMessage; pose: Omit<RobotPose, 'ageMs'> | undefined } | undefined;
  return () => {
    const name = topic();
    let read = readers.get(name);
    if (!read) readers.set(name, (read = bus.retainLatest(name)));
    const msg = read();
    if (!msg) return undefined;
    if (decoded?.msg !== msg) decoded = { msg, pose: decode(codec, msg) };
    if (!decoded.pose) return undefined;
    return { ...decoded.pose, ageMs: Number(nowNs() - msg.logTime) / 1e6 };
  };
}

function decode(codec: MessageCodec, msg: BusMessage): Omit<RobotPose, 'ageMs'> | undefined {
  try {
    const pose = poseOf(codec.decode<OdometryMsg>(msg.type, msg.data));
    return Object.values(pose).every(Number.isFinite) ? pose : undefined;
  } catch {
    return undefined; // not an Odometry that decodes: no pose, so the fence holds motion (it says so)
  }
}
