/**
 * Storage for tasks' run records (see `run-records.ts`): large shared
 * `Float64Array` slabs cut into regions, one region per task that has run. A
 * task's first run then takes a free region instead of allocating a typed
 * array of its own (which costs a separate backing store each), and no object
 * at all: the task holds the slab and the region's place itself. A region goes
 * back to its pool when its task is removed.
 *
 * A slab is laid out record by record, not region by region: the first
 * records of all its regions sit side by side, then all the second records,
 * and so on (a region's records are `runStride` numbers apart). Tasks that run
 * together write next to each other, and a slab's memory is touched as runs
 * happen (the first runs touch only the first row), not all at the first run.
 */

/** What holds a region: record k of it starts at `runData[runBase + k × runStride]`. */
export interface RegionHolder {
  runData: Float64Array | null;
  runBase: number;
  runStride: number;
}

/** Numbers per slab (512 KiB). */
const SLAB_SIZE = 65_536;

interface Pool {
  /** The slab regions are cut from, how many regions it has, and how many are handed out. */
  slab: Float64Array | null;
  regions: number;
  used: number;
  /** Regions given back, ready for reuse: their slabs and bases, side by side. */
  freeSlabs: Float64Array[];
  freeBases: number[];
}

/** Pools by region shape (records × numbers per record): tasks with one history size share slabs. */
const pools = new Map<number, Pool>();

/**
 * Gives `holder` a region of `records` records of `fields` numbers each,
 * holding whatever its previous holder (or nobody) left there.
 */
export function takeRegion(holder: RegionHolder, records: number, fields: number): void {
  const length = records * fields;
  if (length > SLAB_SIZE / 4) {
    ownRegion(holder, records, fields);
    return;
  }
  let pool = pools.get(length);
  if (pool === undefined) {
    pool = {
      slab: null,
      regions: Math.floor(SLAB_SIZE / length),
      used: 0,
      freeSlabs: [],
      freeBases: [],
    };
    pools.set(length, pool);
  }
  holder.runStride = pool.regions * fields;
  const reused = pool.freeSlabs.pop();
  if (reused !== undefined) {
    holder.runData = reused;
    holder.runBase = pool.freeBases.pop()!;
    return;
  }
  if (pool.slab === null || pool.used === pool.regions) {
    // Not zeroed: the pages are touched (and zeroed by the system) as runs are written.
    const bytes = pool.regions * length * Float64Array.BYTES_PER_ELEMENT;
    pool.slab = new Float64Array(Buffer.allocUnsafeSlow(bytes).buffer, 0, pool.regions * length);
    pool.used = 0;
  }
  holder.runData = pool.slab;
  holder.runBase = pool.used * fields;
  pool.used++;
}

/** Gives `holder` an array of its own for `records` records of `fields` numbers, one after another. */
export function ownRegion(holder: RegionHolder, records: number, fields: number): void {
  holder.runData = new Float64Array(records * fields);
  holder.runBase = 0;
  holder.runStride = fields;
}

/**
 * Copies `holder`'s region of `records` × `fields` numbers into an array of
 * its own, one record after another, and returns the region to its pool.
 */
export function moveToOwnRegion(holder: RegionHolder, records: number, fields: number): void {
  const { runData: shared, runBase: base, runStride: stride } = holder;
  const length = records * fields;
  // A region too large for a slab is an array of its own already.
  if (shared === null || length > SLAB_SIZE / 4) return;
  ownRegion(holder, records, fields);
  const own = holder.runData!;
  for (let k = 0; k < records; k++) {
    own.set(shared.subarray(base + k * stride, base + k * stride + fields), k * fields);
  }
  // The pool exists: the region came from takeRegion, which made it.
  const pool = pools.get(length)!;
  pool.freeSlabs.push(shared);
  pool.freeBases.push(base);
}
