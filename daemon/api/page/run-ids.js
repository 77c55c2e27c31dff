// A run id's short form: its shortest prefix of at least 13 characters (a UUIDv7's ms) that no other run id
// shown starts with. The copy of daemon/util/id-prefix.ts's shortIds for the page, which cannot import TS; a
// test holds the two to the same answers.
export const SHORT_ID_MIN = 13;

/** Each id's short form among `ids`, as a Map. */
export function shortIds(ids) {
  const sorted = [...new Set(ids)].sort();
  const common = (a, b) => {
    let i = 0;
    while (b !== undefined && i < a.length && a[i] === b[i]) i++;
    return i;
  };
  const out = new Map();
  sorted.forEach((id, i) => {
    out.set(id, id.slice(0, Math.max(SHORT_ID_MIN, common(id, sorted[i - 1]) + 1, common(id, sorted[i + 1]) + 1)));
  });
  return out;
}
