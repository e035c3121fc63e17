/**
 * Storage for tasks' numbers: large shared `Float64Array` slabs cut into
 * regions, in pools by region shape. Run records (see `run-records.ts`) take
 * a region per task that has run; schedule times (`schedule-times.ts`) cut
 * theirs with {@link cutRegion}. A
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
  /**
   * The slab regions are cut from (empty before the first), how many
   * regions it has, and how many are handed out.
   */
  slab: Float64Array;
  regions: number;
  used: number;
  /** Regions given back, ready for reuse: their slabs and bases, side by side. */
  freeSlabs: Float64Array[];
  freeBases: number[];
}

/** Pools by region shape (see {@link shapeKey}): tasks with one history size share slabs. */
const pools = new Map<number, Pool>();

/** A region shape as one number: regions of one shape share slabs, those of others never. */
function shapeKey(records: number, fields: number): number {
  return records * SLAB_SIZE + fields;
}

/**
 * What {@link cutRegion} cut last: the slab, where the region starts in it,
 * and how far apart its records are. One object, reused by every cut (read
 * it at once), so that cutting a region allocates nothing.
 */
export interface CutRegion {
  slab: Float64Array;
  base: number;
  stride: number;
}

/** The slab of a pool that has none yet (and of {@link lastCut} before any cut). */
const EMPTY = new Float64Array(0);

const lastCut: CutRegion = { slab: EMPTY, base: 0, stride: 0 };

/**
 * Cuts a region of `records` records of `fields` numbers from the shared
 * slabs of that shape: a region given back earlier, or a new one. It holds
 * whatever its previous holder (or nobody) left there. Only for regions of
 * at most a quarter of a slab (see {@link fitsSlab}).
 */
export function cutRegion(records: number, fields: number): Readonly<CutRegion> {
  // Only the usual case is here: the next region of the pool's slab. The rest (the shape's first
  // region, a region given back, a new slab) is in functions of its own, called once in hundreds
  // of cuts: V8 then neither inlines them here nor compiles them, and cutting, which runs for
  // every task registered and on every task's first run, stays small to compile.
  const pool = pools.get(shapeKey(records, fields)) ?? newPool(records, fields);
  if (pool.freeSlabs.length > 0) return reuseRegion(pool, fields);
  if (pool.used === pool.regions) newSlab(pool, records * fields);
  lastCut.slab = pool.slab;
  lastCut.base = pool.used * fields;
  lastCut.stride = pool.regions * fields;
  pool.used++;
  return lastCut;
}

/** The pool of regions of `records` × `fields` numbers, made on its first cut. */
function newPool(records: number, fields: number): Pool {
  const regions = Math.floor(SLAB_SIZE / (records * fields));
  // No slab yet: all of its (no) regions are used, so the first cut makes one.
  const pool: Pool = { slab: EMPTY, regions, used: regions, freeSlabs: [], freeBases: [] };
  pools.set(shapeKey(records, fields), pool);
  return pool;
}

/** Cuts the region given back last. */
function reuseRegion(pool: Pool, fields: number): Readonly<CutRegion> {
  lastCut.slab = pool.freeSlabs.pop()!;
  lastCut.base = pool.freeBases.pop()!;
  lastCut.stride = pool.regions * fields;
  return lastCut;
}

/** Gives the pool a new slab of `length`-number regions, none of them cut. */
function newSlab(pool: Pool, length: number): void {
  // Not zeroed: the pages are touched (and zeroed by the system) as the regions are written.
  const bytes = pool.regions * length * Float64Array.BYTES_PER_ELEMENT;
  pool.slab = new Float64Array(Buffer.allocUnsafeSlow(bytes).buffer, 0, pool.regions * length);
  pool.used = 0;
}

/** Gives a region that {@link cutRegion} cut back to its pool, for the next cut of that shape. */
export function returnRegion(
  records: number,
  fields: number,
  slab: Float64Array,
  base: number,
): void {
  // The pool exists: the region came from cutRegion, which made it.
  const pool = pools.get(shapeKey(records, fields))!;
  pool.freeSlabs.push(slab);
  pool.freeBases.push(base);
}

/** Whether a region of `records` × `fields` numbers is cut from a shared slab (small enough). */
export function fitsSlab(records: number, fields: number): boolean {
  return records * fields <= SLAB_SIZE / 4;
}

/**
 * Gives `holder` a region of `records` records of `fields` numbers each,
 * holding whatever its previous holder (or nobody) left there.
 */
export function takeRegion(holder: RegionHolder, records: number, fields: number): void {
  if (!fitsSlab(records, fields)) {
    ownRegion(holder, records, fields);
    return;
  }
  const cut = cutRegion(records, fields);
  holder.runData = cut.slab;
  holder.runBase = cut.base;
  holder.runStride = cut.stride;
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
  // A region too large for a slab is an array of its own already.
  if (shared === null || !fitsSlab(records, fields)) return;
  ownRegion(holder, records, fields);
  const own = holder.runData!;
  for (let k = 0; k < records; k++) {
    own.set(shared.subarray(base + k * stride, base + k * stride + fields), k * fields);
  }
  returnRegion(records, fields, shared, base);
}
