import { didYouMean } from '../util/index.ts';

/**
 * Why `topic` is not among `topics` (those of `where`: the daemon's bus, its Foxglove server): a near one to
 * try, and the ones there are. `others` are names a near one may also be (the journal's channel).
 */
export function noSuchTopic(
  topic: string,
  where: string,
  topics: readonly string[],
  others: readonly string[] = [],
): string {
  const guess = didYouMean(topic, [...topics, ...others]);
  return [
    `no topic ${topic} on ${where}${guess ? `: did you mean ${guess}?` : ''}`,
    topics.length > 0 ? `its topics: ${topics.join(', ')}` : 'it has no bus topic yet',
  ].join('\n');
}
