import type { PauseState } from '../contract/index.ts';
import { nsToIso } from '../util/index.ts';
import { type CommandIO, parseCommandArgs } from '../cli-kit/index.ts';
import { RECORDER_CLIENT_OPTIONS, recorderApi } from './recorder-client.ts';

export const BAG_PAUSE_HELP = `  bag pause|resume [--url URL] [--token TOKEN] [--config FILE] [--json]
      Pauses the running daemon's recorder, or resumes it (POST /recorder/pause, /recorder/resume), as
      rosbag2's recorder services ~/pause and ~/resume: paused, the bag stays open and nothing is written;
      messages meanwhile are counted as not recorded (status, /metrics), not as drops. At resume the last
      message of each latched topic (/map, /tf_static) that came while paused is recorded first. A pause
      lasts until resume or until the recorder restarts (recorder.start_paused says how it starts).
`;

export async function bagPause(sub: 'pause' | 'resume', argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, RECORDER_CLIENT_OPTIONS, { min: 0, max: 0, names: '' });
  const api = await recorderApi(sub, values, io);
  const state = await api?.ask((client) => client.post<PauseState>(`/recorder/${sub}`));
  if (!state) return 1;
  if (values.json) io.stdout(`${JSON.stringify(state)}\n`);
  else if (sub === 'pause')
    io.stdout(
      state.changed
        ? 'recording paused: nothing is written until `auraison-edge bag resume`\n'
        : `already paused since ${isoOf(state.since_ns)} (${state.not_recorded} message(s) not recorded so far)\n`,
    );
  else
    io.stdout(
      state.changed
        ? `recording resumed (${state.not_recorded} message(s) were not recorded while paused)\n`
        : 'not paused: the recorder was recording already\n',
    );
  return 0;
}

function isoOf(ns: string | null): string {
  return ns === null ? '?' : nsToIso(ns);
}
