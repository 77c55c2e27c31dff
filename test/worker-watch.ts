import { beforeAll, expect } from 'vitest';
import { noteWorker } from './worker-watch-main.ts';

/**
 * Says why a vitest worker process ended under the suite, which vitest reports only as "Worker exited unexpectedly"
 * (it happened about once in five full runs, after every file had passed). Each worker appends, to
 * `$TMPDIR/auraison-edge-vitest-workers-<vitest's pid>.log`, the files it starts, the stop signals it gets and its
 * exit code; a nonzero exit, SIGHUP or SIGINT is also written to stderr, naming the last file it ran. SIGTERM (how
 * vitest ends its workers) goes to the file alone. A signal is re-raised once noted, so the worker ends as it would
 * have; where code under test handles it, it is only noted.
 */
interface Watch {
  file: string;
}

const state = globalThis as { auraisonWorkerWatch?: Watch };

function note(watch: Watch, line: string, loud: boolean): void {
  const text = `vitest worker ${process.pid}: ${line} (last test file: ${watch.file})\n`;
  noteWorker(process.ppid, text);
  if (loud) process.stderr.write(text);
}

if (state.auraisonWorkerWatch === undefined) {
  const watch: Watch = { file: '(none yet)' };
  state.auraisonWorkerWatch = watch;
  process.on('exit', (code) => note(watch, `exit code ${code}`, code !== 0));
  for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      const alone = process.listenerCount(signal) === 1;
      note(watch, `got ${signal}${alone ? '' : ', which code under test handles'}`, signal !== 'SIGTERM');
      if (!alone) return;
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

beforeAll(() => {
  const watch = state.auraisonWorkerWatch!;
  watch.file = expect.getState().testPath ?? '(unknown)';
  note(watch, 'starts a test file', false);
});
