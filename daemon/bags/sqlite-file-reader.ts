import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { BagError } from './errors.ts';
import type { StorageFileReader, StorageMessage, StorageSummary, StorageTopic } from './storage-reader.ts';
import { errorText } from '../util/index.ts';

interface TopicRow {
  id: number;
  name: string;
  type: string;
  serialization_format: string;
  offered_qos_profiles?: string;
  type_description_hash?: string;
}

/**
 * Reads a rosbag2 sqlite3 storage file (.db3) read-only, through better-sqlite3. Old files have only the
 * `topics` and `messages` tables (no `schema`, `metadata` or `message_definitions`); those read the same,
 * without embedded definitions.
 */
export class SqliteFileReader implements StorageFileReader {
  readonly path: string;
  readonly storage = 'sqlite3' as const;
  #db: Database.Database;
  #topics = new Map<string, StorageTopic>();
  #byId = new Map<number, string>();

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
  }

  static async open(path: string): Promise<SqliteFileReader> {
    // SQLite would open a 0-byte file as an empty database and find no table in it.
    if (statSync(path).size === 0) throw new BagError(path, emptyDb3('nothing can be read from it'));
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new BagError(path, `cannot open as SQLite: ${errorText(error)}`);
    }
    const reader = new SqliteFileReader(path, db);
    try {
      reader.#loadTopics();
    } catch (error) {
      db.close();
      if (error instanceof BagError) throw error;
      throw new BagError(path, `not a readable rosbag2 sqlite3 file: ${errorText(error)}`);
    }
    return reader;
  }

  /**
   * What SQLite's `PRAGMA quick_check` finds wrong with the file (its first finding), or undefined when it
   * finds nothing. A file so damaged that the check itself fails gives that failure.
   */
  static quickCheck(path: string): string | undefined {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (error) {
      return errorText(error);
    }
    try {
      const rows = db.pragma('quick_check(1)') as { quick_check: string }[];
      const finding = rows[0]?.quick_check ?? 'no result';
      return finding === 'ok' ? undefined : finding;
    } catch (error) {
      return errorText(error);
    } finally {
      db.close();
    }
  }

  topics(): Map<string, StorageTopic> {
    return this.#topics;
  }

  async summary(): Promise<StorageSummary | undefined> {
    try {
      const total = this.#db
        .prepare('SELECT count(*) AS n, min(timestamp) AS lo, max(timestamp) AS hi FROM messages')
        .safeIntegers(true)
        .get() as { n: bigint; lo: bigint | null; hi: bigint | null };
      const counts = new Map<number, number>();
      for (const row of this.#db.prepare('SELECT topic_id, count(*) AS n FROM messages GROUP BY topic_id').all() as {
        topic_id: number;
        n: number;
      }[])
        counts.set(row.topic_id, row.n);
      return {
        messageCount: Number(total.n),
        startNs: total.lo ?? undefined,
        endNs: total.hi ?? undefined,
        topics: [...this.#byId.entries()].map(([id, name]) => ({
          ...this.#topics.get(name)!,
          messageCount: counts.get(id) ?? 0,
        })),
      };
    } catch (error) {
      throw new BagError(this.path, `corrupt sqlite3 bag: ${errorText(error)}`);
    }
  }

  async *messages(): AsyncGenerator<StorageMessage> {
    let rows: IterableIterator<unknown>;
    try {
      rows = this.#db
        .prepare('SELECT id, topic_id, timestamp, data FROM messages ORDER BY timestamp, id')
        .safeIntegers(true)
        .iterate();
    } catch (error) {
      throw new BagError(this.path, `corrupt sqlite3 bag: ${errorText(error)}`);
    }
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = rows.next();
      } catch (error) {
        throw new BagError(this.path, `corrupt sqlite3 bag: ${errorText(error)}`);
      }
      if (next.done) return;
      const row = next.value as { id: bigint; topic_id: bigint; timestamp: bigint; data: Buffer };
      const topic = this.#byId.get(Number(row.topic_id));
      if (topic === undefined)
        throw new BagError(
          this.path,
          `corrupt sqlite3 bag: message ${row.id} refers to topic id ${row.topic_id}, which the topics table lacks`,
        );
      yield {
        topic,
        logTime: row.timestamp,
        publishTime: row.timestamp,
        data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
        offset: row.id,
      };
    }
  }

  async *batches(): AsyncGenerator<StorageMessage[]> {
    let batch: StorageMessage[] = [];
    for await (const m of this.messages()) {
      batch.push(m);
      if (batch.length >= 1024) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #loadTopics(): void {
    const tables = new Set(
      (this.#db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    if (!tables.has('topics') || !tables.has('messages')) {
      throw new BagError(
        this.path,
        `not a rosbag2 sqlite3 file: it has no ${tables.has('topics') ? 'messages' : 'topics'} table`,
      );
    }
    const definitions = new Map<string, { encoding: string; text: string }>();
    if (tables.has('message_definitions')) {
      for (const row of this.#db
        .prepare('SELECT topic_type, encoding, encoded_message_definition FROM message_definitions')
        .all() as { topic_type: string; encoding: string; encoded_message_definition: string }[]) {
        if (row.encoded_message_definition)
          definitions.set(row.topic_type, { encoding: row.encoding, text: row.encoded_message_definition });
      }
    }
    for (const row of this.#db.prepare('SELECT * FROM topics ORDER BY id').all() as TopicRow[]) {
      this.#byId.set(row.id, row.name);
      this.#topics.set(row.name, {
        name: row.name,
        type: row.type,
        serializationFormat: row.serialization_format,
        offeredQosProfiles: row.offered_qos_profiles ?? '',
        typeDescriptionHash: row.type_description_hash ?? '',
        schema: definitions.get(row.type),
      });
    }
  }
}

/** How a 0-byte .db3 file is described: `consequence`, and what to do. */
export function emptyDb3(consequence: string): string {
  return `the file is empty (0 bytes): it holds no message (cut short by a crash or a full disk, or never written); ${consequence}. Restore it from a copy, or move it out of the bag directory to read the rest`;
}
