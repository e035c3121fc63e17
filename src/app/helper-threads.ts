import { type ExecFileException, execFile } from 'node:child_process';
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
 * Two steps keep the event loop first:
 * - The helpers get the lowest priority (nice 19), which makes them wait
 *   for the event loop most of the time. Not always: when two or more are
 *   busy, Linux still lets one run on the event loop's core now and then
 *   until the next scheduler tick, up to 4 ms.
 * - They then move to the idle scheduling class (`SCHED_IDLE`), which any
 *   other thread takes the core from at once when it wakes. Node has no
 *   call for that; util-linux's `chrt` makes it, in one short-lived shell
 *   at start. Without `chrt`, the helpers stay at nice 19.
 *
 * Linux keeps the priority and the class per thread, and a process may
 * always lower its own threads'. It may not raise them back without
 * privileges, so the change lasts as long as the process.
 */

/** The nice value the helper threads get: the lowest priority there is. */
export const HELPER_THREAD_NICE = 19;

/** How long the shell that runs `chrt` may take before it is given up. */
const CHRT_TIMEOUT_MS = 5_000;

/**
 * Moves each thread id given as an argument to the idle class and prints
 * the ids it moved; exits 127 when `chrt` is not installed. A thread that
 * has ended meanwhile is skipped.
 */
const CHRT_SCRIPT = `command -v chrt >/dev/null 2>&1 || exit 127
for tid do chrt --idle --pid 0 "$tid" >/dev/null 2>&1 && echo "$tid"; done`;

/**
 * The process's threads other than the main one when this module was
 * loaded: Node's own helpers, and none of the worker threads the program
 * starts afterwards (worker tasks included). Empty where there is no
 * `/proc`, and in a worker thread (which must leave the main thread's
 * neighbours alone).
 */
const threadsAtLoad = listOtherThreads();

let lowered = false;

/** What {@link lowerHelperThreads} did. */
export interface LoweredHelpers {
  /** Threads set to nice {@link HELPER_THREAD_NICE} (those that were not already). */
  niced: number;
  /** Threads moved to the idle scheduling class. */
  idle: number;
  /** Why no thread was moved to the idle class, if none was: `chrt` missing, or failing. */
  idleProblem: string | null;
}

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
 * Lowers the helper threads (see above) to {@link HELPER_THREAD_NICE}, then
 * moves them to the idle scheduling class; once per process. Only threads
 * that were there when this module was loaded and still are: an id that has
 * ended could belong to another process's thread by now. Resolves with what
 * it did; null on later calls, off Linux and in a worker thread.
 */
export async function lowerHelperThreads(): Promise<LoweredHelpers | null> {
  if (lowered || threadsAtLoad.length === 0) return null;
  lowered = true;
  const running = new Set(listOtherThreads());
  const helpers = threadsAtLoad.filter((tid) => running.has(tid));
  let niced = 0;
  for (const tid of helpers) {
    try {
      if (getPriority(tid) >= HELPER_THREAD_NICE) continue;
      setPriority(tid, HELPER_THREAD_NICE);
      niced++;
    } catch {
      // The thread has ended since the list was made.
    }
  }
  const { idle, problem } = await moveToIdleClass(helpers);
  return { niced, idle, idleProblem: problem };
}

/** Moves `tids` to the idle scheduling class with `chrt`; says how many it moved, or why none. */
function moveToIdleClass(tids: number[]): Promise<{ idle: number; problem: string | null }> {
  return new Promise((resolve) => {
    if (tids.length === 0) {
      resolve({ idle: 0, problem: null });
      return;
    }
    const args = ['-c', CHRT_SCRIPT, 'sh', ...tids.map(String)];
    const done = (err: ExecFileException | null, stdout: string): void => {
      const idle = stdout.split('\n').filter((line) => line !== '').length;
      if (err === null) {
        resolve({ idle, problem: idle === 0 ? 'chrt moved no thread' : null });
      } else if (err.code === 127) {
        resolve({ idle, problem: 'chrt was not found (it comes with util-linux)' });
      } else if (err.code === 'ENOENT') {
        // A minimal image (distroless and the like) has no shell.
        resolve({ idle, problem: 'there is no /bin/sh to run chrt with' });
      } else {
        resolve({ idle, problem: `chrt failed: ${err.message}` });
      }
    };
    try {
      execFile('/bin/sh', args, { timeout: CHRT_TIMEOUT_MS }, done);
    } catch (err) {
      // Some spawn failures (out of memory, say) throw instead of reaching the callback: the
      // service starts all the same, its helpers at nice 19.
      done(err as ExecFileException, '');
    }
  });
}
