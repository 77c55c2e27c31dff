import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { recorderFixture } from '../../daemon/recorder/recorder-fixture.ts';
import { tick, waitFor } from '../helpers/wait.ts';

// Months unattended: a disk that stays full (another program filled it; min_free_bytes 0) makes the recorder
// retry its resume every minute at most. Each retry must cost one log line, not one for the resume and one
// more for the repair of the bag it had to abandon, which fails for the same reason.

const { setup, faultyIO, codec } = recorderFixture();

describe('recorder log volume on a disk that stays full', () => {
  it('logs one line per failed resume, naming the bag it could not repair, and the repair line only once there is room', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    let full = false;
    let clock = 1_000_000;
    // Writes and creates fail while full: repairing the abandoned bag fails too.
    const io = faultyIO(
      () => (full ? 'ENOSPC' : undefined),
      () => 0,
      true,
    );
    const { bus, recorder } = setup({ flush_interval_ms: 10_000, min_free_bytes: 0 }, io, {
      log,
      retryMs: { first: 1000, max: 60_000 },
      now: () => clock,
    });
    const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const data = codec.encode('std_msgs/msg/String', { data: 'x' });
    await recorder.start();
    pub.publish(data);
    await tick();
    await recorder.flush();

    full = true;
    pub.publish(data);
    await tick();
    await recorder.flush();
    const N = 5;
    for (let i = 1; i <= N; i++) {
      await waitFor(
        () => new RegExp(`failure ${i} in a row`).test(recorder.health().reason ?? ''),
        `failed resume ${i}`,
      );
      clock += 60_000; // past any backoff: the next check retries
    }
    await waitFor(
      () => new RegExp(`failure ${N + 1} in a row`).test(recorder.health().reason ?? ''),
      'one more failed resume',
    );
    const stopped = lines.filter((l) => String(l.msg).startsWith('recorder: disk full'));
    const repairs = lines.filter((l) => String(l.msg).includes('could not be repaired'));
    // The stop, then one line per failed resume, which names the abandoned bag.
    expect(stopped).toHaveLength(1 + N + 1);
    expect(stopped.at(-1)).toMatchObject({ code: 'ENOSPC', bag: recorder.bags[0] });
    expect(repairs).toHaveLength(0);

    full = false;
    clock += 60_000;
    await waitFor(() => recorder.state === 'recording', 'the resume once the disk has room');
    expect(lines.filter((l) => l.msg === 'recorder: repaired a bag left open')).toHaveLength(1);
    await recorder.close();
  });
});
