import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * Collects this thread's garbage now: a full GC of its own heap. A loop thread calls it once, before its
 * first tick. Its start (modules compiled, the model loaded) leaves megabytes of young garbage, and on a
 * busy machine the scavenges that cleared it paused the first seconds' ticks for 10 to 37 ms (seen with
 * --trace-gc-nvp: the loop thread waiting in scavenge.parallel on V8's helper threads, which run at normal
 * priority, and which other processes kept off the CPUs). V8 gives no gc() without --expose-gc, which a
 * worker cannot take as a flag of its own; set on the running process, it puts gc() on the contexts made
 * after it, as the one made here (the daemon makes no other).
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
