import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the command name (state is the first). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The lakehouse query processes this process started (their command line names query-child). Linux only. */
export function queryProcesses(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return (
          Number(statFields(Number(pid))[1]) === process.pid &&
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('query-child')
        );
      } catch {
        return false; // ended as the list was read
      }
    })
    .map(Number);
}

/** CPU time process `pid` has used, in clock ticks (utime + stime); 0 once it has ended. */
export function cpuTicks(pid: number): number {
  try {
    const fields = statFields(pid);
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
