/**
 * `text` in at most `max` characters: whole where it fits, else cut after a word (at the last space in the room, when
 * that keeps at least half of it; a long token is cut where the room ends) and marked with `...`, so that a part is
 * not read as the whole.
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = max - 3;
  const space = text.lastIndexOf(' ', room);
  const kept = space >= room / 2 ? text.slice(0, space).replace(/[\s,;:]+$/, '') : text.slice(0, room);
  return `${kept}...`;
}
