import { parseDocument, stringify } from 'yaml';
import { BagError } from './errors.ts';
import { errorText } from '../util/index.ts';

/** One topic of a bag, as metadata.yaml lists it. */
export interface BagTopic {
  name: string;
  type: string;
  serializationFormat: string;
  /** As the file had it: a YAML string (versions 4-8) or a list (version 9). Written back as a list. */
  offeredQosProfiles: unknown;
  typeDescriptionHash: string;
  messageCount: number;
}

export interface BagFileInfo {
  path: string;
  startingTimeNs: bigint;
  durationNs: bigint;
  messageCount: number;
}

/** rosbag2's BagMetadata, normalized over versions 4 to 9. */
export interface BagMetadata {
  version: number;
  storageIdentifier: string;
  durationNs: bigint;
  startingTimeNs: bigint;
  messageCount: number;
  topics: BagTopic[];
  compressionFormat: string;
  compressionMode: string;
  relativeFilePaths: string[];
  /** Per-file details: present from version 5 on; empty before. */
  files: BagFileInfo[];
  customData: Record<string, string>;
  rosDistro: string;
}

/** The version `ros2 bag record` writes on Jazzy, and so do we. */
export const METADATA_VERSION = 9;
/**
 * The custom_data key under which retention (daemon/lakehouse/retention.ts) lists the splits it deleted from a
 * bag; the recorder keeps it when it rewrites the metadata.yaml of the bag it is recording.
 */
export const RETENTION_DELETED_KEY = 'auraison_edge.retention_deleted';
/** rosbag2's starting time for a bag with no messages (INT64_MAX). */
export const NO_START = 9223372036854775807n;

/** How many alias expansions a metadata.yaml may hold (the yaml library's default): a YAML bomb stops there. */
const MAX_ALIASES = 100;

/** Parses metadata.yaml text of versions 4 to 9. `file` names it in errors. */
export function parseMetadata(text: string, file: string): BagMetadata {
  const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: false });
  // The yaml library's first line ends with a colon that introduced its excerpt of the text.
  if (doc.errors.length > 0)
    throw new BagError(file, `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '')}`);
  let root: Record<string, unknown> | null;
  try {
    root = doc.toJS({ maxAliasCount: MAX_ALIASES }) as Record<string, unknown> | null;
  } catch (error) {
    // The yaml library's "Excessive alias count indicates a resource exhaustion attack" names no file.
    if (/alias/i.test(errorText(error)))
      throw new BagError(file, `too many YAML aliases (more than ${MAX_ALIASES} expansions; rosbag2 writes none)`);
    throw new BagError(file, `not valid YAML: ${errorText(error)}`);
  }
  const info = root?.rosbag2_bagfile_information as Record<string, unknown> | undefined;
  if (!info || typeof info !== 'object')
    throw new BagError(file, 'no rosbag2_bagfile_information mapping: this is not a rosbag2 metadata.yaml');
  const at = (key: string) => `${file}: rosbag2_bagfile_information.${key}`;
  const version = num(info.version, at('version'));
  if (version < 1 || version > METADATA_VERSION)
    throw new BagError(file, `metadata version ${version} is not supported (versions 1 to ${METADATA_VERSION} are)`);
  const topicsRaw = info.topics_with_message_count ?? [];
  if (!Array.isArray(topicsRaw)) throw new BagError(file, 'topics_with_message_count is not a list');
  const topics = topicsRaw.map((entry: Record<string, unknown>, i: number): BagTopic => {
    const m = (entry?.topic_metadata ?? {}) as Record<string, unknown>;
    return {
      name: str(m.name, at(`topics_with_message_count[${i}].topic_metadata.name`)),
      type: str(m.type, at(`topics_with_message_count[${i}].topic_metadata.type`)),
      serializationFormat: typeof m.serialization_format === 'string' ? m.serialization_format : 'cdr',
      offeredQosProfiles: m.offered_qos_profiles ?? '',
      typeDescriptionHash: typeof m.type_description_hash === 'string' ? m.type_description_hash : '',
      messageCount: num(entry.message_count ?? 0, at(`topics_with_message_count[${i}].message_count`)),
    };
  });
  const filesRaw = Array.isArray(info.files) ? (info.files as Record<string, unknown>[]) : [];
  const custom =
    info.custom_data && typeof info.custom_data === 'object' ? (info.custom_data as Record<string, unknown>) : {};
  return {
    version,
    storageIdentifier: typeof info.storage_identifier === 'string' ? info.storage_identifier : '',
    durationNs: big(nested(info.duration, 'nanoseconds') ?? 0n),
    startingTimeNs: big(nested(info.starting_time, 'nanoseconds_since_epoch') ?? 0n),
    messageCount: num(info.message_count ?? 0, at('message_count')),
    topics,
    compressionFormat: typeof info.compression_format === 'string' ? info.compression_format : '',
    compressionMode: typeof info.compression_mode === 'string' ? info.compression_mode : '',
    relativeFilePaths: Array.isArray(info.relative_file_paths) ? info.relative_file_paths.map(String) : [],
    files: filesRaw.map((f) => ({
      path: String(f.path),
      startingTimeNs: big(nested(f.starting_time, 'nanoseconds_since_epoch') ?? 0n),
      durationNs: big(nested(f.duration, 'nanoseconds') ?? 0n),
      messageCount: Number(f.message_count ?? 0),
    })),
    customData: Object.fromEntries(Object.entries(custom).map(([k, v]) => [k, String(v)])),
    rosDistro: typeof info.ros_distro === 'string' ? info.ros_distro : '',
  };
}

/**
 * metadata.yaml text in the form `ros2 bag record` writes on Jazzy (version 9): the same keys in the same
 * order, QoS profiles as a list, custom_data as a mapping (or `~` when empty).
 */
export function formatMetadata(meta: BagMetadata): string {
  const body = {
    rosbag2_bagfile_information: {
      version: METADATA_VERSION,
      storage_identifier: meta.storageIdentifier,
      duration: { nanoseconds: meta.durationNs },
      starting_time: { nanoseconds_since_epoch: meta.startingTimeNs },
      message_count: meta.messageCount,
      topics_with_message_count: meta.topics.map((t) => ({
        topic_metadata: {
          name: t.name,
          type: t.type,
          serialization_format: t.serializationFormat,
          offered_qos_profiles: t.offeredQosProfiles,
          type_description_hash: t.typeDescriptionHash,
        },
        message_count: t.messageCount,
      })),
      compression_format: meta.compressionFormat,
      compression_mode: meta.compressionMode,
      relative_file_paths: meta.relativeFilePaths,
      files: meta.files.map((f) => ({
        path: f.path,
        starting_time: { nanoseconds_since_epoch: f.startingTimeNs },
        duration: { nanoseconds: f.durationNs },
        message_count: f.messageCount,
      })),
      custom_data: Object.keys(meta.customData).length > 0 ? meta.customData : null,
      ros_distro: meta.rosDistro,
    },
  };
  return stringify(body, { indentSeq: true, nullStr: '~', lineWidth: 0 });
}

function nested(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function num(value: unknown, where: string): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new BagError(where.split(': ')[0]!, `${where.split(': ')[1]}: expected a number, got ${JSON.stringify(value)}`);
}

function str(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  throw new BagError(where.split(': ')[0]!, `${where.split(': ')[1]}: expected a string, got ${JSON.stringify(value)}`);
}

function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  return 0n;
}

/** The storage files a metadata.yaml lists: relative_file_paths, else its files' paths. */
export function listedFiles(meta: BagMetadata): string[] {
  return meta.relativeFilePaths.length > 0 ? meta.relativeFilePaths : meta.files.map((f) => f.path);
}
