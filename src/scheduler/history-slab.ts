/**
 * Storage for run histories: large shared `Float64Array` slabs cut into
 * regions, one region per task that has run. A task's first run then takes a
 * free region instead of allocating a typed array of its own (which costs a
 * separate backing store each). A region goes back to its pool when the
 * history that holds it is garbage-collected (a removed task whose handle
 * nobody keeps), so a history stays readable for as long as anyone can read it.
 */

/** One region of a slab: `data[base … base + length)` belongs to one history. */
export interface SlabRegion {
  readonly data: Float64Array;
  readonly base: number;
}

/** Numbers per slab (512 KiB). */
const SLAB_SIZE = 65_536;

interface Pool {
  /** The slab regions are cut from, and how much of it is used. */
  slab: Float64Array | null;
  used: number;
  /** Regions given back, ready for reuse. */
  free: SlabRegion[];
}

/** Pools by region length: histories of one capacity share slabs. */
const pools = new Map<number, Pool>();

/** Returns a collected history's region to its pool. */
const reclaim = new FinalizationRegistry<{ region: SlabRegion; length: number }>(
  ({ region, length }) => returnRegion(region, length),
);

/** A region of `length` numbers for `owner`, returned to the pool when `owner` is collected. */
export function takeRegion(owner: object, length: number): SlabRegion {
  const region = cutRegion(length);
  reclaim.register(owner, { region, length });
  return region;
}

function cutRegion(length: number): SlabRegion {
  if (length > SLAB_SIZE / 4) return { data: new Float64Array(length), base: 0 };
  let pool = pools.get(length);
  if (pool === undefined) {
    pool = { slab: null, used: 0, free: [] };
    pools.set(length, pool);
  }
  const reused = pool.free.pop();
  if (reused !== undefined) return reused;
  if (pool.slab === null || pool.used + length > pool.slab.length) {
    pool.slab = new Float64Array(Math.floor(SLAB_SIZE / length) * length);
    pool.used = 0;
  }
  const region = { data: pool.slab, base: pool.used };
  pool.used += length;
  return region;
}

function returnRegion(region: SlabRegion, length: number): void {
  if (length > SLAB_SIZE / 4) return;
  pools.get(length)?.free.push(region);
}
