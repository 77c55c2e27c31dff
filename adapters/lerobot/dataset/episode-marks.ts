import type { EpisodeWindow } from './lakehouse-export.ts';
import { isEpisodeBegin } from '../../../daemon/system1/index.ts';
import { DatasetError } from './dataset-types.ts';
import { withDuckDB, queryRows, sqlIdent } from './duckdb.ts';
import { openLakehouse, relationNames } from './lakehouse-series.ts';
import { nsText } from './bag-images.ts';

/**
 * The episodes a recording's marks cut: a std_msgs/msg/String topic whose messages are `begin N` as an episode starts
 * and `end N success` or `end N failure` as it ends (a teleoperation UI's, a scripted expert's). Only episodes that
 * end with success are kept: a failed demonstration teaches the policy to fail.
 */
export interface MarkedEpisodes {
  /** Each successful episode, from its begin mark to its end mark. */
  windows: EpisodeWindow[];
  /** Episodes whose end mark says failure: left out. */
  failed: number;
  /** Begin marks with no end mark after them (the recording stopped, another began): left out. */
  unended: number;
  /** End marks that say neither success nor failure: left out. */
  unjudged: number;
}

export interface MarkOptions {
  /** The lakehouse catalog, as the export reads it. */
  database: string;
  /** The marks' topic, e.g. /expert/episode. */
  topic: string;
  task: string;
  /** Fewer successful episodes than this are refused (a policy cannot learn the task from a handful). */
  minEpisodes: number;
}

const END = /^end\b/i;
const VERDICT = /\b(success|failure)\s*$/i;

/** Reads the marks and cuts the episodes; refuses, saying what to do, when too few succeeded or none is judged. */
export async function readMarkedEpisodes({ database, topic, task, minEpisodes }: MarkOptions): Promise<MarkedEpisodes> {
  const rows = await withDuckDB(async (conn) => {
    const opened = await openLakehouse(conn, database);
    const names = relationNames(topic);
    await opened.views?.define(names);
    for (const name of names) {
      try {
        return await queryRows(
          conn,
          `SELECT CAST(log_time AS BIGINT) AS t, data FROM ${opened.schema}${sqlIdent(name)} ORDER BY t`,
        );
      } catch (error) {
        // Not this spelling of the topic: try the next. Another error (a column missing) is the user's to see.
        if (!/does not exist/.test(String(error))) throw error;
      }
    }
    throw new DatasetError(
      `--episodes-from ${topic}: the lakehouse has no messages on ${topic}; record the marks' topic with the rest (recorder.include)`,
    );
  });
  const marked = cutEpisodes(
    rows.map((r) => ({ t: BigInt(r.t as bigint | number), text: String(r.data).trim() })),
    task,
  );
  const judged = marked.windows.length + marked.failed;
  if (judged === 0)
    throw new DatasetError(
      `--episodes-from ${topic}: none of its ${rows.length} marks ends an episode with "success" or "failure" ` +
        `(${marked.unended} begun, never ended; ${marked.unjudged} ended without a verdict): an episode is kept only ` +
        `when its end mark says it succeeded; publish "end N success" or "end N failure" as each episode ends`,
    );
  if (marked.windows.length < minEpisodes)
    throw new DatasetError(
      `--episodes-from ${topic}: ${marked.windows.length} successful episodes (${marked.failed} failed, ` +
        `${marked.unended + marked.unjudged} without a verdict, all left out), fewer than --min-episodes ${minEpisodes}: ` +
        `record more demonstrations, or lower --min-episodes for a pipeline check`,
    );
  return marked;
}

/** Pairs each begin mark with the end mark that follows it, before another begin. */
export function cutEpisodes(marks: { t: bigint; text: string }[], task: string): MarkedEpisodes {
  const out: MarkedEpisodes = { windows: [], failed: 0, unended: 0, unjudged: 0 };
  let begun: bigint | undefined;
  for (const { t, text } of marks) {
    if (isEpisodeBegin(text)) {
      if (begun !== undefined) out.unended++;
      begun = t;
    } else if (END.test(text) && begun !== undefined) {
      const verdict = VERDICT.exec(text)?.[1]?.toLowerCase();
      if (verdict === 'success') out.windows.push({ startNs: begun, endNs: t, task });
      else if (verdict === 'failure') out.failed++;
      else out.unjudged++;
      begun = undefined;
    }
  }
  if (begun !== undefined) out.unended++;
  return out;
}

/** A line for the export's report: what the marks kept and left out. */
export const marksText = (topic: string, m: MarkedEpisodes): string =>
  `${m.windows.length} successful episodes cut by ${topic}` +
  (m.windows.length > 0 ? ` (from ${nsText(m.windows[0]!.startNs)})` : '') +
  `; left out: ${m.failed} failed, ${m.unended} never ended, ${m.unjudged} without a verdict`;
