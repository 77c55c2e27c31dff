/**
 * What a user sees of messages too large to decode into their topic's table (`lakehouse.project_max_message_bytes`:
 * images, point clouds, a large map): they are in `messages`, so the topic was recorded, and raising the key
 * is the fix. Shared by `bag import`, the daemon's indexing log and the query's unknown-topic hint.
 */
export function oversizedLine(o: { topic: string; count: number; largest: number }, maxBytes: number): string {
  return (
    `${o.count} message(s) on ${o.topic} are larger than lakehouse.project_max_message_bytes (${maxBytes} bytes; the largest is ${o.largest}): ` +
    `indexed in messages, not decoded into the table "${o.topic}"; raise the key to query them by field (it applies to what is indexed from then on)`
  );
}
