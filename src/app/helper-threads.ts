import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/**
 * The event loop before the process's helper threads, on Linux.
 *
 * Node starts a process with helper threads: V8's (optimizing compiles,
 * concurrent garbage collection; four by default) and a few of its own.
 * libuv's thread pool is not among them: it starts at the program's first
 * asynchronous file, DNS or crypto call, usually after Daebus is loaded,
 * and then keeps its priority.
 * They work in bursts: when code turns hot, V8 compiles several functions
 * at once, each for a few milliseconds. On a machine with two cores, such a
 * burst takes both, and the event loop waits for a core: task runs due in
 * that moment start 2 to 5 ms late, and replies go out that much later.
 *
 * Lowering the helpers to the lowest priority (nice 19) makes them wait for
 * the event loop most of the time: when two or more are busy, Linux still
 * lets one run on the event loop's core now and then until the next
 * scheduler tick (see "Precision" in the guide). Linux keeps a nice value
 * per thread, and a process
 * may always lower its own threads' priority. It may not raise it back
 * without privileges, so the change lasts as long as the process.
 */

/** The nice value the helper threads get: the lowest priority there is. */
export const HELPER_THREAD_NICE = 19;

/**
 * The process's threads other than the main one when this module was
 * loaded: Node's own helpers, and none of the worker threads the program
 * starts afterwards (worker tasks included). Empty where there is no
 * `/proc`, and in a worker thread (which must leave the main thread's
 * neighbours alone).
 */
const threadsAtLoad = listOtherThreads();

let lowered = false;

/** Thread ids of the process other than the main thread's, from `/proc` (Linux only). */
function listOtherThreads(): number[] {
  if (process.platform !== 'linux' || !isMainThread) return [];
  try {
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => Number.isInteger(tid) && tid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * Lowers the helper threads (see above) to {@link HELPER_THREAD_NICE}, once
 * per process; a thread already lower is left alone, one gone meanwhile is
 * skipped. Returns how many threads it lowered (0 on later calls, and off
 * Linux).
 */
export function lowerHelperThreads(): number {
  if (lowered) return 0;
  lowered = true;
  let count = 0;
  for (const tid of threadsAtLoad) {
    try {
      if (getPriority(tid) >= HELPER_THREAD_NICE) continue;
      setPriority(tid, HELPER_THREAD_NICE);
      count++;
    } catch {
      // The thread has ended since the list was made.
    }
  }
  return count;
}
