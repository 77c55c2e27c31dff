import { parse, stringify } from 'yaml';
import type { TopicQos } from '../bus/index.ts';

/** rmw's "infinite" duration as rosbag2 writes it. */
const INFINITE = { sec: 9223372036, nsec: 854775807 };

/**
 * The offered QoS profiles of one publisher, in the form rosbag2 metadata version 9 (Jazzy) writes:
 * enum values as strings (`keep_last`, `reliable`, `transient_local`, `automatic`).
 */
export function qosProfileV9(qos: TopicQos): Record<string, unknown> {
  return {
    history: 'keep_last',
    depth: qos.depth,
    reliability: qos.reliability,
    durability: qos.durability,
    deadline: { ...INFINITE },
    lifespan: { ...INFINITE },
    liveliness: 'automatic',
    liveliness_lease_duration: { ...INFINITE },
    avoid_ros_namespace_conventions: false,
  };
}

/** The MCAP channel metadata value `offered_qos_profiles`: the profile list as a YAML string. */
export function qosProfilesText(qos: TopicQos): string {
  return stringify([qosProfileV9(qos)]).trimEnd();
}

const RELIABILITY: Record<string, TopicQos['reliability']> = {
  '1': 'reliable',
  '2': 'best_effort',
  reliable: 'reliable',
  best_effort: 'best_effort',
};
const DURABILITY: Record<string, TopicQos['durability']> = {
  '1': 'transient_local',
  '2': 'volatile',
  transient_local: 'transient_local',
  volatile: 'volatile',
};

/**
 * Reads offered QoS profiles in any metadata version: a YAML string with numeric enums (versions 4 to 8)
 * or a list with string enums (version 9). Returns the first profile, or undefined when there is none.
 */
export function parseOfferedQos(value: unknown): TopicQos | undefined {
  let list: unknown = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    try {
      list = parse(value);
    } catch {
      return undefined; // a profile we can't read is not a reason to refuse the bag
    }
  }
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const p = list[0] as Record<string, unknown>;
  return {
    reliability: RELIABILITY[String(p.reliability)] ?? 'reliable',
    durability: DURABILITY[String(p.durability)] ?? 'volatile',
    depth: typeof p.depth === 'number' ? p.depth : 10,
  };
}
