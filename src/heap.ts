// Exports and imports stream: what they keep between records is small, what
// they allocate per record is large and dies young. V8 lets the old
// generation grow to up to four times what survived its last full collection
// before it collects again, so a million-record import held ~90 MB and peaked
// near 360 MB of heap. A growing factor of 1.5 kept it near 150 MB, with no
// clear cost in time over a few runs (bench/README.md).
import { setFlagsFromString } from "node:v8";
import { z } from "zod";

const percent = z.coerce.number().int().min(0).max(300);

/** Sets V8's heap growing factor from HEAP_GROWING_PERCENT (default 50; 0 leaves V8's own). Call before the work starts. */
export function tuneHeap(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = percent.safeParse(env.HEAP_GROWING_PERCENT ?? 50);
  if (!parsed.success) throw new Error(`invalid configuration: HEAP_GROWING_PERCENT must be an integer from 0 to 300, got ${env.HEAP_GROWING_PERCENT}`);
  if (parsed.data > 0) setFlagsFromString(`--heap-growing-percent=${parsed.data}`);
  return parsed.data;
}
