// Preview and import over one line source: the same planner, inside a
// snapshot for preview and inside the import's own transaction for import.
import type { Database } from "../../config.js";
import { openDb, type Db } from "../../db/client.js";
import { withSnapshot } from "../snapshot.js";
import { applyPlan } from "./apply.js";
import { planImport, type ImportPlan } from "./plan.js";
import { checkResolutionInput } from "./resolve.js";
import type { ImportOptions, LineSource } from "./types.js";

const DAY_MS = 24 * 3600 * 1000;

export interface ImportRequest {
  targetUserId: string;
  options: ImportOptions;
  source: LineSource;
  onProgress?: (done: number, total: number) => void;
}

export async function preview(database: Database, req: ImportRequest): Promise<ImportPlan> {
  return withSnapshot(database, async (db) => {
    const plan = await planImport(db, req.targetUserId, req.options, req.source);
    checkResolutionInput(req.options, plan.conflicts);
    return plan;
  });
}

// One import per database at a time in this process: on SQLite a second
// writer would only wait on the file lock, and two imports into the same
// user must not plan against each other's half-written state.
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** Plans and applies in one transaction on a connection of its own: all or nothing. */
export function runImport(database: Database, req: ImportRequest): Promise<ImportPlan> {
  return serialized(async () => {
    const handle = await openDb(database);
    try {
      return await handle.db.$transaction(
        async (tx) => {
          const db = tx as unknown as Db;
          const plan = await planImport(db, req.targetUserId, req.options, req.source);
          checkResolutionInput(req.options, plan.conflicts);
          await applyPlan(db, plan, req.source, { targetUserId: req.targetUserId, onProgress: req.onProgress });
          return plan;
        },
        { timeout: DAY_MS, maxWait: 10 * 60_000 },
      );
    } finally {
      await handle.close();
    }
  });
}
