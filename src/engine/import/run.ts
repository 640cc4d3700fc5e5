// Preview and import over one line source: the same planner, in a read
// snapshot for preview and, for import, inside the import's own transaction,
// writing each record as it is decided. Both run on driver connections of
// their own: a million-record import is no work for Prisma's query engine.
import type { Database } from "../../config.js";
import { withDriverTransaction } from "../../db/driver-tx.js";
import { DriverWriter } from "../../db/driver-write.js";
import { rawReader } from "../../db/raw.js";
import { withDriverSnapshot } from "../driver-snapshot.js";
import { PlanWriter } from "./apply.js";
import { succeeded, type HistoryEntry } from "./history.js";
import { scanImport, type ImportPlan } from "./plan.js";
import { checkResolutionInput } from "./resolve.js";
import type { ImportOptions, LineSource } from "./types.js";

export interface ImportRequest {
  targetUserId: string;
  options: ImportOptions;
  source: LineSource;
  /** records decided (an import's written or skipped), every thousand and once the last is written */
  onProgress?: (done: number, total: number) => void;
  /** import only: the history record to mark SUCCEEDED in the same transaction */
  history?: HistoryEntry;
}

export async function preview(database: Database, req: ImportRequest): Promise<ImportPlan> {
  const scanned = await scanImport(req.targetUserId, req.options, req.source);
  return withDriverSnapshot(database, async (db) => {
    const plan = await scanned.decide(await rawReader(db), null, req.onProgress);
    checkResolutionInput(req.options, plan.conflicts);
    return plan;
  });
}

// One import per database at a time in this process: on SQLite a second
// writer would only wait on the file lock, and two imports into the same
// user must not plan against each other's half-written state.
// An import in a worker process of this one waits its turn here too.
let queue: Promise<unknown> = Promise.resolve();
export function oneImportAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** Plans and applies in one transaction on a connection of its own: all or nothing. */
export function runImport(database: Database, req: ImportRequest): Promise<ImportPlan> {
  return oneImportAtATime(async () => {
    // pass A reads the file while the connection opens; the transaction (and its lock) begins after it
    const scanning = scanImport(req.targetUserId, req.options, req.source);
    return withDriverTransaction(database, async (tx, scanned) => {
      const writer = new PlanWriter(tx, req.source, { targetUserId: req.targetUserId });
      const plan = await scanned.decide(tx, writer, req.onProgress);
      // a choice the plan's conflicts do not allow fails the import: the transaction takes back what was written
      checkResolutionInput(req.options, plan.conflicts);
      if (req.history) await new DriverWriter(tx).update("ImportRecord", req.history.recordId, succeeded(req.history.format, plan));
      return plan;
    }, scanning);
  });
}
