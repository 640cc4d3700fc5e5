// Demo data for one user: realistic records of both families, deterministic
// for a seed and a scale, written with bulk INSERTs in chunked transactions
// while it is generated (memory stays bounded at any scale).

import type { Db } from "../db/client.js";
import { BulkWriter, type ModelName } from "../db/bulk.js";
import { NotFoundError, ValidationError } from "../engine/errors.js";
import { annotationRows } from "./annotations.js";
import { memoryRows } from "./memories.js";
import { KINDS, expectedCounts, kindOfModel, makePlan, type Kind, type KindCounts, type SeedContext, type SeedPlan, type SeedRow } from "./plan.js";
import { IdSpace, Random } from "./random.js";

export { KINDS, makePlan, expectedCounts, type Kind, type KindCounts, type SeedPlan } from "./plan.js";

export interface SeedProgress {
  /** records written so far */
  written: number;
  /** records the plan expects in all (the final total differs by a little) */
  expected: number;
  /** the kind just written */
  kind: Kind;
}

export interface SeedOptions {
  userId: string;
  /** about how many records in all (default 1000) */
  scale?: number;
  /** default 1 */
  seed?: number | string;
  onProgress?: (p: SeedProgress) => void;
  /** records per transaction (default 20000) */
  transactionSize?: number;
}

export interface SeedResult {
  counts: KindCounts;
  total: number;
  plan: SeedPlan;
}

export const DEFAULT_SCALE = 1000;
export const DEFAULT_SEED = 1;

/** Every generated row, in an order where references point backwards. */
export function* demoRows(ctx: SeedContext): Generator<SeedRow> {
  yield* memoryRows(ctx);
  yield* annotationRows(ctx);
}

/**
 * The context that makes the data a function of (seed, scale, user): record
 * contents depend on the seed and scale only; ids also on the user's email, so
 * seeding several users of one database with the same seed gives distinct ids,
 * while the same user in a fresh database gets the same ids again.
 */
export function seedContext(options: { ownerId: string; email: string; scale: number; seed: number | string }): SeedContext {
  const seed = String(options.seed);
  return {
    ownerId: options.ownerId,
    ids: new IdSpace(`${seed}|${options.email}`),
    random: (part) => new Random(`stowage-seed|${seed}|${part}`),
    plan: makePlan(options.scale),
  };
}

export async function seedDemo(db: Db, options: SeedOptions): Promise<SeedResult> {
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!Number.isInteger(scale) || scale < 1) throw new ValidationError(`scale must be a positive integer, got ${scale}`, [{ path: "scale", message: "positive integer" }]);
  const user = await db.user.findUnique({ where: { id: options.userId } });
  if (!user) throw new NotFoundError(`no user with id ${options.userId}`);
  const where = { where: { ownerId: user.id } };
  const [apps, categories, personas, videos] = await Promise.all([db.app.count(where), db.category.count(where), db.persona.count(where), db.video.count(where)]);
  if (apps + categories + personas + videos > 0) {
    throw new ValidationError(`${user.email} already has data (apps, categories, personas or videos); seed demo data into a fresh user`, [
      { path: "user", message: "already has data" },
    ]);
  }

  const ctx = seedContext({ ownerId: user.id, email: user.email, scale, seed: options.seed ?? DEFAULT_SEED });
  const expected = Object.values(expectedCounts(ctx.plan)).reduce((a, b) => a + b, 0);
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as KindCounts;
  let written = 0;
  const onFlush = (model: ModelName, n: number) => {
    const kind = kindOfModel(model);
    counts[kind] += n;
    written += n;
    options.onProgress?.({ written, expected, kind });
  };

  const rows = demoRows(ctx);
  const perTransaction = options.transactionSize ?? 20_000;
  let done = false;
  while (!done) {
    await db.$transaction(
      async (tx) => {
        const writer = new BulkWriter(tx, { batchSize: 500, onFlush });
        for (let n = 0; n < perTransaction; n++) {
          const next = rows.next();
          if (next.done) {
            done = true;
            break;
          }
          await writer.add(next.value[0], next.value[1]);
        }
        await writer.flush();
      },
      { timeout: 10 * 60_000, maxWait: 60_000 },
    );
  }
  return { counts, total: written, plan: ctx.plan };
}
