import { stringify } from 'yaml';
import { formatMetadata, type BagFileInfo, type BagMetadata, type BagTopic } from '../bags/index.ts';

/** formatMetadata's options, for the pieces formatted here. */
const YAML_OPTIONS = { indentSeq: true, nullStr: '~', lineWidth: 0 } as const;

/** A topic's message_count line, as formatMetadata indents it under its list item. */
const COUNT_LINE = '      message_count: ';

/**
 * Formats metadata.yaml exactly as formatMetadata does (a test compares the two), keeping the YAML of what
 * does not change between writes: each topic's metadata (only its count changes) and each finished split's
 * entry. The `yaml` library takes about 0.2 ms per topic or split, and the recorder rewrites metadata.yaml at
 * every split close: formatted whole, a bag of 5,000 topics or 4,000 splits held the event loop for a second.
 */
export class MetadataText {
  #topics: Map<string, TopicText>;
  #files = new Map<string, { key: string; path: string; entry: string }>();

  /** `shareTopics`: another formatter whose topic texts this one uses too (a split's topics are the bag's). */
  constructor(shareTopics?: MetadataText) {
    this.#topics = shareTopics ? shareTopics.#topics : new Map();
    this.#sharing = shareTopics !== undefined;
  }

  #sharing: boolean;

  format(meta: BagMetadata): string {
    // The document with its three lists empty, then each list's items (cached) in place of its `[]`.
    let text = formatMetadata({ ...meta, topics: [], relativeFilePaths: [], files: [] });
    text = replaceList(
      text,
      'topics_with_message_count',
      meta.topics.length > 0 ? meta.topics.map((t) => this.#topic(t)).join('') : undefined,
    );
    text = replaceList(
      text,
      'relative_file_paths',
      meta.relativeFilePaths.length > 0 ? meta.relativeFilePaths.map((p) => this.#path(p)).join('') : undefined,
    );
    text = replaceList(
      text,
      'files',
      meta.files.length > 0 ? meta.files.map((f) => this.#file(f)).join('') : undefined,
    );
    this.#forget(meta);
    return text;
  }

  #topic(t: BagTopic): string {
    let cached = this.#topics.get(t.name);
    if (!cached || !sameTopic(cached, t)) {
      const item = listItem('topics_with_message_count', {
        topic_metadata: {
          name: t.name,
          type: t.type,
          serialization_format: t.serializationFormat,
          offered_qos_profiles: t.offeredQosProfiles,
          type_description_hash: t.typeDescriptionHash,
        },
        message_count: 0,
      });
      cached = {
        type: t.type,
        format: t.serializationFormat,
        hash: t.typeDescriptionHash,
        qos: t.offeredQosProfiles,
        qosJson: JSON.stringify(t.offeredQosProfiles),
        head: item.slice(0, item.lastIndexOf(COUNT_LINE)),
      };
      this.#topics.set(t.name, cached);
    }
    return cached.head + COUNT_LINE + t.messageCount + '\n';
  }

  #path(path: string): string {
    return this.#fileEntry(path).path;
  }

  #file(f: BagFileInfo): string {
    const entry = this.#fileEntry(f.path);
    const key = `${f.startingTimeNs}/${f.durationNs}/${f.messageCount}`;
    if (entry.key !== key) {
      entry.key = key;
      entry.entry = listItem('files', {
        path: f.path,
        starting_time: { nanoseconds_since_epoch: f.startingTimeNs },
        duration: { nanoseconds: f.durationNs },
        message_count: f.messageCount,
      });
    }
    return entry.entry;
  }

  #fileEntry(path: string): { key: string; path: string; entry: string } {
    let entry = this.#files.get(path);
    if (!entry) {
      entry = { key: '', path: listItem('relative_file_paths', path), entry: '' };
      this.#files.set(path, entry);
    }
    return entry;
  }

  /** Drops what the last document no longer holds, so the caches stay as small as the bag. */
  #forget(meta: BagMetadata): void {
    if (!this.#sharing && this.#topics.size > meta.topics.length) {
      const names = new Set(meta.topics.map((t) => t.name));
      for (const name of this.#topics.keys()) if (!names.has(name)) this.#topics.delete(name);
    }
    if (this.#files.size > meta.files.length + meta.relativeFilePaths.length) {
      const paths = new Set([...meta.relativeFilePaths, ...meta.files.map((f) => f.path)]);
      for (const path of this.#files.keys()) if (!paths.has(path)) this.#files.delete(path);
    }
  }
}

interface TopicText {
  type: string;
  format: string;
  hash: string;
  /** The QoS profiles as last formatted: the same object (the writer's copies share it), or equal JSON. */
  qos: unknown;
  qosJson: string;
  head: string;
}

function sameTopic(cached: TopicText, t: BagTopic): boolean {
  if (cached.type !== t.type || cached.format !== t.serializationFormat || cached.hash !== t.typeDescriptionHash)
    return false;
  return cached.qos === t.offeredQosProfiles || cached.qosJson === JSON.stringify(t.offeredQosProfiles);
}

/** The YAML of one item of the list under `key`, indented as in formatMetadata's document. */
function listItem(key: string, item: unknown): string {
  const text = stringify({ rosbag2_bagfile_information: { [key]: [item] } }, YAML_OPTIONS);
  const second = text.indexOf('\n', text.indexOf('\n') + 1);
  return text.slice(second + 1);
}

/** Puts `items` (the YAML of a non-empty list) in place of the shell's empty `key: []`. */
function replaceList(shell: string, key: string, items: string | undefined): string {
  if (items === undefined) return shell;
  const line = `\n  ${key}: []\n`;
  const at = shell.indexOf(line);
  if (at < 0) throw new Error(`MetadataText: no ${key} in the formatted document`);
  return `${shell.slice(0, at)}\n  ${key}:\n${items}${shell.slice(at + line.length)}`;
}
