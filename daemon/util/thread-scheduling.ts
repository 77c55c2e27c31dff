import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { errorText } from './error-text.ts';

export type SchedulingPolicy = 'other' | 'fifo' | 'rr';

export interface SchedulingRequest {
  policy: SchedulingPolicy;
  /** SCHED_FIFO / SCHED_RR priority, 1 (lowest) to 99. */
  rtPriority: number;
  /** Niceness for SCHED_OTHER, and the fallback when a real-time policy is refused. */
  nice: number;
  /** CPUs the thread may run on (empty: left as inherited). */
  cpus?: readonly number[];
}

/** What the calling thread runs with after `applyThreadScheduling`, read back from the kernel. */
export interface SchedulingResult {
  /** Linux thread id (0 off Linux). */
  tid: number;
  policy: SchedulingPolicy | 'idle' | 'unknown';
  rtPriority: number;
  nice: number;
  /** The CPUs the thread may run on, as the kernel lists them (e.g. "1" or "0-3"). */
  cpus: string;
  /** One line for the log and `status`: what was asked, what was applied, and why not when it wasn't. */
  summary: string;
}

const POLICY_NAMES: Record<number, SchedulingPolicy | 'idle'> = { 0: 'other', 1: 'fifo', 2: 'rr', 5: 'idle' };
const CHRT_FLAG: Record<Exclude<SchedulingPolicy, 'other'>, string> = { fifo: '--fifo', rr: '--rr' };

/** The scheduling policy and priorities of thread `tid` of this process, from /proc (fields 19, 40, 41). */
export function readThreadScheduling(tid: number): {
  policy: SchedulingPolicy | 'idle' | 'unknown';
  rtPriority: number;
  nice: number;
  cpus: string;
} {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  const cpus = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))?.[1] ?? '';
  return { policy: POLICY_NAMES[field(41)] ?? 'unknown', rtPriority: field(40), nice: field(19), cpus };
}

/**
 * Sets the scheduling of the calling thread alone (Linux): SCHED_FIFO or SCHED_RR at `rtPriority`, as
 * ros2_control does for its loop, or SCHED_OTHER at `nice`; and, when `cpus` is given, pins it to those
 * CPUs (util-linux's `taskset`), as ros2_control's cpu_affinity does. Node has no sched_setscheduler, so a real-time
 * policy is set with util-linux's `chrt --pid` on this thread's id. Either needs CAP_SYS_NICE (or, for a
 * real-time policy, an RLIMIT_RTPRIO at least `rtPriority`). A refusal is not an error: the thread falls
 * back to the niceness, and the summary says what to grant. The result is read back from the kernel.
 */
export function applyThreadScheduling(request: SchedulingRequest): SchedulingResult {
  if (process.platform !== 'linux') {
    return {
      tid: 0,
      policy: 'unknown',
      rtPriority: 0,
      nice: 0,
      cpus: '',
      summary: `not applied (${process.platform}): thread scheduling is set on Linux only`,
    };
  }
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  const notes: string[] = [];
  if (request.cpus && request.cpus.length > 0) {
    const list = request.cpus.join(',');
    try {
      execFileSync('taskset', ['--cpu-list', '--pid', list, String(tid)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 5000,
      });
    } catch (error) {
      notes.push(`cpu_affinity ${list} refused: ${toolFailure(error, 'taskset')}`);
    }
  }
  if (request.policy === 'other' && readThreadScheduling(tid).policy !== 'other') {
    // Back from real time (a thread started by one inherits its policy, and the stop listener leaves it in a flood).
    try {
      execFileSync('chrt', ['--other', '--pid', '0', String(tid)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 5000,
      });
    } catch (error) {
      notes.push(`SCHED_OTHER refused: ${toolFailure(error, 'chrt')}`);
    }
  }
  if (request.policy !== 'other') {
    try {
      execFileSync('chrt', [CHRT_FLAG[request.policy], '--pid', String(request.rtPriority), String(tid)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 5000,
      });
    } catch (error) {
      notes.push(
        `SCHED_${request.policy.toUpperCase()} ${request.rtPriority} refused: ${toolFailure(error, 'chrt')}; give the daemon CAP_SYS_NICE or LimitRTPRIO=${request.rtPriority} (systemd)`,
      );
    }
  }
  let now = readThreadScheduling(tid);
  if (now.policy === 'other') {
    try {
      setPriority(tid, request.nice);
    } catch (error) {
      notes.push(
        `nice ${request.nice} refused: ${(error as NodeJS.ErrnoException).code ?? errorText(error)} (give the daemon CAP_SYS_NICE)`,
      );
    }
    now = { ...readThreadScheduling(tid), nice: getPriority(tid) };
  }
  const policy =
    now.policy === 'fifo' || now.policy === 'rr'
      ? `SCHED_${now.policy.toUpperCase()} ${now.rtPriority}`
      : `SCHED_OTHER nice ${now.nice}`;
  const applied = request.cpus && request.cpus.length > 0 ? `${policy} on CPU ${now.cpus}` : policy;
  return { tid, ...now, summary: notes.length > 0 ? `${applied} (${notes.join('; ')})` : applied };
}

function toolFailure(error: unknown, tool: string): string {
  const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
  if (e.code === 'ENOENT') return `${tool} not found (install util-linux)`;
  const stderr = e.stderr?.toString().trim();
  return stderr ? stderr.split('\n').pop()! : e.message;
}

/** Sets a thread's niceness to `nice`, never below what it has (a raise would need privilege, or take it). */
function lowerThread(tid: number, nice: number): void {
  try {
    setPriority(tid, Math.max(getPriority(tid), nice));
  } catch (error) {
    // A thread that exited since the list was read is no thread to lower.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** How far `lowerProcess` lowers: SCHED_IDLE, or SCHED_OTHER at nice 10 or 19. */
export type LowPriority = 'idle' | 'nice10' | 'nice19';

/**
 * Lowers every thread of this process, and so every thread they start later (a thread inherits its creator's
 * policy and niceness): to SCHED_IDLE, which runs only on a CPU nothing else wants, or to a niceness. Lowering
 * needs no privilege (nor does lowering further, from nice 10 to 19). Returns what the threads run with now, read
 * back from the kernel, or why they were not lowered. Off Linux, only the process's niceness is set.
 */
export function lowerProcess(to: LowPriority): string {
  const nice = to === 'nice10' ? 10 : 19;
  if (process.platform !== 'linux') {
    try {
      setPriority(0, Math.max(getPriority(0), nice));
      return `nice ${getPriority(0)}`;
    } catch (error) {
      return `not lowered: ${errorText(error)}`;
    }
  }
  try {
    if (to === 'idle')
      execFileSync('chrt', ['--all-tasks', '--idle', '--pid', '0', String(process.pid)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 30_000,
      });
    else for (const tid of readdirSync('/proc/self/task').map(Number)) lowerThread(tid, nice);
  } catch (error) {
    return `not lowered: ${to === 'idle' ? toolFailure(error, 'chrt') : errorText(error)}`;
  }
  const held = new Set<string>();
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      const now = readThreadScheduling(tid);
      held.add(now.policy === 'idle' ? 'SCHED_IDLE' : `SCHED_${now.policy.toUpperCase()} nice ${now.nice}`);
    } catch {
      // exited meanwhile
    }
  }
  return [...held].join(', ');
}

/**
 * Sets every thread of this process (and so the threads they start later) to `request`, as applyThreadScheduling
 * does for one: a loop process's V8 helper threads, which run its garbage collection, at the loop's own priority.
 * Returns what the threads hold now, read back from the kernel, with why not where a setting was refused.
 */
export function applyProcessScheduling(request: SchedulingRequest): string {
  if (process.platform !== 'linux') return `not applied (${process.platform}): thread scheduling is set on Linux only`;
  const pid = String(process.pid);
  const notes: string[] = [];
  const run = (tool: string, args: string[], what: string): void => {
    try {
      execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
    } catch (error) {
      notes.push(`${what} refused: ${toolFailure(error, tool)}`);
    }
  };
  if (request.cpus && request.cpus.length > 0)
    run('taskset', ['--all-tasks', '--cpu-list', '--pid', request.cpus.join(','), pid], `cpu_affinity ${request.cpus}`);
  if (request.policy !== 'other')
    run(
      'chrt',
      ['--all-tasks', CHRT_FLAG[request.policy], '--pid', String(request.rtPriority), pid],
      `SCHED_${request.policy.toUpperCase()} ${request.rtPriority}`,
    );
  const held = new Set<string>();
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      let now = readThreadScheduling(tid);
      if (now.policy === 'other') {
        setPriority(tid, request.nice);
        now = { ...now, nice: getPriority(tid) };
      }
      held.add(
        now.policy === 'other' ? `SCHED_OTHER nice ${now.nice}` : `SCHED_${now.policy.toUpperCase()} ${now.rtPriority}`,
      );
    } catch (error) {
      // An exited thread has no /proc entry left; a refused niceness stays as it was, and says so.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        notes.push(`nice ${request.nice} refused: ${errorText(error)}`);
    }
  }
  const summary = `${[...held].join(', ')} (${readdirSync('/proc/self/task').length} threads)`;
  return notes.length > 0 ? `${summary} (${[...new Set(notes)].join('; ')})` : summary;
}
