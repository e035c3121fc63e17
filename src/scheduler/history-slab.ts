/**
 * Storage for run histories: large shared `Float64Array` slabs cut into
 * regions, one region per task that has run. A task's first run then takes a
 * free region instead of allocating a typed array of its own (which costs a
 * separate backing store each), and no object at all: the history holds the
 * slab and the region's offset itself. A region goes back to its pool when
 * its task is removed.
 */

/** What holds a region: `data[base … base + length)` belongs to it. */
export interface RegionHolder {
  data: Float64Array | null;
  base: number;
}

/** Numbers per slab (512 KiB). */
const SLAB_SIZE = 65_536;

interface Pool {
  /** The slab regions are cut from, and how much of it is used. */
  slab: Float64Array | null;
  used: number;
  /** Regions given back, ready for reuse: their slabs and offsets, side by side. */
  freeSlabs: Float64Array[];
  freeBases: number[];
}

/** Pools by region length: histories of one capacity share slabs. */
const pools = new Map<number, Pool>();

/** Gives `holder` a region of `length` numbers (zeroed, or as its previous holder left it). */
export function takeRegion(holder: RegionHolder, length: number): void {
  if (length > SLAB_SIZE / 4) {
    holder.data = new Float64Array(length);
    holder.base = 0;
    return;
  }
  let pool = pools.get(length);
  if (pool === undefined) {
    pool = { slab: null, used: 0, freeSlabs: [], freeBases: [] };
    pools.set(length, pool);
  }
  const reused = pool.freeSlabs.pop();
  if (reused !== undefined) {
    holder.data = reused;
    holder.base = pool.freeBases.pop()!;
    return;
  }
  if (pool.slab === null || pool.used + length > pool.slab.length) {
    pool.slab = new Float64Array(Math.floor(SLAB_SIZE / length) * length);
    pool.used = 0;
  }
  holder.data = pool.slab;
  holder.base = pool.used;
  pool.used += length;
}

/** Returns `holder`'s region of `length` numbers to its pool; the holder must not use it again. */
export function returnRegion(holder: RegionHolder, length: number): void {
  const data = holder.data;
  holder.data = null;
  if (data === null || length > SLAB_SIZE / 4) return;
  // The pool exists: the region came from takeRegion, which made it.
  const pool = pools.get(length)!;
  pool.freeSlabs.push(data);
  pool.freeBases.push(holder.base);
}
