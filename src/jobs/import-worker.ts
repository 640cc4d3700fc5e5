// An import's preview or run in a worker process (worker.ts): the plan is
// made, and for a run written, by a process that never starts Prisma, so a
// million-record import does not grow the server (bench/README.md, "import").
// The server keeps the history record and the progress events; while the
// worker holds SQLite's write lock, the server's own writes wait for it
// (write-gate.ts, through the worker's "hold" message).
import type { Database } from "../config.js";
import type { HistoryEntry } from "../engine/import/history.js";
import type { ImportPlan } from "../engine/import/plan.js";
import type { ImportOptions } from "../engine/import/types.js";
import { BIG_IMPORT_HEAP_FLAGS, JobWorker } from "./worker-process.js";
import type { WorkerStats } from "./worker-protocol.js";
import type { Workers } from "./workers.js";

export interface ImportInWorker {
  job: "preview" | "import";
  database: Database;
  path: string;
  /** the archive's size on disk: a big import gets a worker of its own heap flags (jobHeapFlags) */
  byteSize: number;
  targetUserId: string;
  options: ImportOptions;
  history?: HistoryEntry;
  onProgress?: (done: number, total: number) => void;
  /** once the worker process runs (its pid, for logs and whoever may have to stop it) */
  onWorker?: (pid: number) => void;
}

/**
 * Imports of archives this big (about half a million records) get
 * BIG_IMPORT_HEAP_FLAGS: a process of their own, whose start (~0.4 s) is a
 * hundredth of their time. Smaller ones, and every preview, take the spare.
 */
export const BIG_IMPORT_MIN_BYTES = 64 * 2 ** 20;

/** The heap flags of a job's worker, when they are not the spare's. */
export function jobHeapFlags(req: Pick<ImportInWorker, "job" | "byteSize">): readonly string[] | undefined {
  return req.job === "import" && req.byteSize >= BIG_IMPORT_MIN_BYTES ? BIG_IMPORT_HEAP_FLAGS : undefined;
}

/**
 * Rejects as the planner would in this process: an InvalidArchiveError is one
 * here too. With `workers`, the job takes their spare and leaves one behind.
 */
export async function planInWorker(req: ImportInWorker, workers?: Workers): Promise<{ plan: ImportPlan; stats: WorkerStats }> {
  const heapFlags = jobHeapFlags(req);
  const worker = await (workers ? workers.take(heapFlags) : JobWorker.spawn(undefined, heapFlags));
  try {
    req.onWorker?.(worker.pid);
    const { result, stats } = await worker.run<ImportPlan>(
      { type: "start", job: req.job, database: req.database, path: req.path, targetUserId: req.targetUserId, options: req.options, history: req.history },
      { onProgress: req.onProgress },
    );
    return { plan: result, stats };
  } finally {
    workers?.keepSpare();
  }
}
