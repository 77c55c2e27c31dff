import Type from 'typebox';
import { RosGlob } from '../../names/index.ts';
import { Section } from '../section.ts';

const Globs = (dflt: string[], description: string) => Type.Array(RosGlob(), { default: dflt, description });

/**
 * `recorder.snapshot`: rosbag2's `ros2 bag record --snapshot-mode`, a "dashcam" of the bus. Its own component
 * (`snapshot`), independent of `recorder.enabled`; it writes with the recorder's compression and chunk settings.
 */
export const SnapshotConfig = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Keep the last max_duration_s / max_bytes of the selected topics in memory, and write them to a bag on demand (`auraison-edge bag snapshot`, POST /recorder/snapshot, bus query recorder/snapshot). Runs with or without recorder.enabled.',
    }),
    max_duration_s: Type.Number({
      exclusiveMinimum: 0,
      default: 30,
      description:
        'Messages whose log time is this much older than the newest buffered one are let go (a latched topic keeps its last message whatever its age).',
    }),
    max_bytes: Type.Integer({
      minimum: 1024,
      default: 256 * 1024 * 1024,
      description:
        'The buffer holds at most this many bytes (messages plus about 320 bytes each of bookkeeping); the oldest go first.',
    }),
    include: Globs(
      ['**'],
      'Topic globs to buffer (`*` within a name segment, `**` across them); topics that appear later are buffered when they match.',
    ),
    exclude: Globs([], 'Topic globs never buffered, even when included.'),
    include_hidden: Type.Boolean({
      default: false,
      description:
        "Buffer hidden topics too (a name segment that begins with `_`, such as an action's `/_action/status`), as `ros2 bag record --include-hidden-topics`; an include that names one exactly takes it anyway.",
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Snapshot recording: the last seconds of bus traffic, written to a bag on demand.',
  },
);

export const RecorderConfig = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Record bus topics into rosbag2 MCAP bags under <data_dir>/bags.',
    }),
    start_paused: Type.Boolean({
      default: false,
      description:
        'Start paused, as `ros2 bag record --start-paused`: nothing is written until `auraison-edge bag resume` (POST /recorder/resume).',
    }),
    include: Globs(
      ['**'],
      'Topic globs to record (`*` within a name segment, `**` across them). Topics that appear later are recorded when they match.',
    ),
    exclude: Globs([], 'Topic globs never recorded, even when included.'),
    include_hidden: Type.Boolean({
      default: false,
      description:
        "Record hidden topics too (a name segment that begins with `_`, such as an action's `/_action/status` and `/_action/feedback`), as `ros2 bag record --include-hidden-topics`; an include that names one exactly is recorded anyway.",
    }),
    compression: Type.Union([Type.Literal('zstd'), Type.Literal('lz4'), Type.Literal('none')], {
      default: 'lz4',
      description:
        "MCAP chunk compression. lz4 compresses on libuv's thread pool, 4 MiB at a time (the event loop only copies pieces smaller than that together); zstd compresses smaller, on a worker thread of its own (the event loop copies the chunk into one buffer, 4 MiB at a time).",
    }),
    chunk_size_bytes: Type.Integer({
      minimum: 1024,
      default: 1024 * 1024,
      description: 'Bytes of records an MCAP chunk holds (before compression) before it is cut and written.',
    }),
    chunk_crc: Type.Boolean({
      default: true,
      description:
        "Compute a CRC per chunk, so readers and repair detect torn or corrupt chunks. Costs about 0.2 ms per MiB; off is what rosbag2's fastwrite preset does.",
    }),
    flush_interval_ms: Type.Integer({
      minimum: 10,
      default: 1000,
      description: 'The open chunk is written and fsynced at least this often: the most a crash can lose.',
    }),
    split_max_bytes: Type.Integer({
      minimum: 0,
      default: 256 * 1024 * 1024,
      description: 'Start a new split file past this size (0: never).',
    }),
    split_max_duration_s: Type.Number({
      minimum: 0,
      default: 600,
      description: 'Start a new split file past this duration (0: never).',
    }),
    bag_max_duration_s: Type.Number({
      minimum: 0,
      default: 86_400,
      description:
        'Close the bag and record on into a new bag directory once it spans this long (0: never). rosbag2 has no such option (its --max-bag-duration is split_max_duration_s here); it is what restarting `ros2 bag record` daily does.',
    }),
    bag_max_splits: Type.Integer({
      minimum: 0,
      default: 1000,
      description: 'Close the bag and record on into a new bag directory once it holds this many splits (0: no limit).',
    }),
    queue: Type.Object(
      {
        policy: Type.Union([Type.Literal('drop-oldest'), Type.Literal('drop-newest')], { default: 'drop-oldest' }),
        depth: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Per-topic queue between the bus and the recorder; overflow is dropped and counted per topic.',
      },
    ),
    max_pending_bytes: Type.Integer({
      minimum: 1024,
      default: 128 * 1024 * 1024,
      description: 'When this much is waiting for the disk, new messages are dropped (and counted) instead of queued.',
    }),
    min_free_bytes: Type.Integer({
      minimum: 0,
      default: 256 * 1024 * 1024,
      description:
        'Stop recording when the disk has less free space than this (or fewer than 16 free inodes); resume when it has more. A resume that fails (the disk still full) is retried after 1 s, 2 s, ... up to 60 s.',
    }),
    snapshot: SnapshotConfig,
  },
  'The recorder: bus topics to rosbag2 bags (MCAP).',
);

export const LakehouseConfig = Section(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Index bags and agent events into <data_dir>/lakehouse (DuckDB catalog + Hive-partitioned parquet).',
    }),
    index_recordings: Type.Boolean({ default: true, description: 'Index each recorded split when it closes.' }),
    project: Globs(
      ['**'],
      'Topics whose messages are decoded into typed columns (one table per topic, queried by topic name).',
    ),
    project_exclude: Globs([], 'Topics never decoded into columns (still indexed in `messages`).'),
    project_max_message_bytes: Type.Integer({
      minimum: 0,
      default: 65536,
      description: 'Messages larger than this (images, point clouds) are indexed but not decoded into columns.',
    }),
    batch_rows: Type.Integer({
      minimum: 1,
      default: 200_000,
      description: 'Rows per parquet file at most: parquet is written in batches, never row by row.',
    }),
    events_flush_s: Type.Number({
      minimum: 0.1,
      default: 30,
      description: 'How often agent events from the journal are written to the events table.',
    }),
    query_timeout_ms: Type.Integer({ minimum: 1, default: 30_000 }),
    query_max_rows: Type.Integer({ minimum: 1, default: 10_000 }),
    compact_after_s: Type.Number({
      minimum: 0,
      default: 3600,
      description:
        'Merge the small parquet files of segments (and events flushes) indexed at least this long ago, per table and partition, so a query reads a few files instead of one per split (0: never).',
    }),
    compact_max_bytes: Type.Integer({
      minimum: 1024 * 1024,
      default: 256 * 1024 * 1024,
      description:
        'The most bytes a merged group of segments holds (its parquet plus its recorded splits): retention deletes a group whole, oldest first.',
    }),
  },
  'The local lakehouse.',
);

export const RetentionConfig = Section(
  {
    enabled: Type.Boolean({ default: true }),
    max_bytes: Type.Integer({
      minimum: 0,
      default: 20 * 1024 * 1024 * 1024,
      description:
        'Bags plus lakehouse tables on disk at most (0: no limit). The oldest go first. While the recorder runs, retention also keeps recorder.min_free_bytes plus a margin free, below this limit if it must.',
    }),
    max_age_hours: Type.Number({
      minimum: 0,
      default: 0,
      description: 'Delete bags and table files older than this (0: no limit).',
    }),
    allow_unsynced_delete: Type.Boolean({
      default: false,
      description:
        'With central sync on (central.sync.enabled): whether data central has not got may be deleted for max_age_hours too. Synced data always goes first; unsynced data goes for max_bytes or low free space whatever this says (the recorder never stops for lack of upload), each file reported to central as lost. Without central sync, the oldest data is deleted, synced or not.',
    }),
    check_interval_s: Type.Number({ minimum: 0.1, default: 30 }),
  },
  'What is kept on disk, and for how long.',
);

/**
 * Config sections of issue 3: recorder, lakehouse, retention. Each entry is one top-level key of the config file,
 * spread into EdgeConfigSchema; use `Section(...)` from ../section.ts so every key has a default
 * (see SimConfig in ../schema.ts), and document every key in edge.example.yaml.
 */
export const BAGS_SECTIONS = {
  recorder: RecorderConfig,
  lakehouse: LakehouseConfig,
  retention: RetentionConfig,
} satisfies Type.TProperties;
