// What the server and a worker process (worker.ts) say to each other over the
// IPC channel. An export's archive does not travel here: the worker writes it
// to a pipe of its own (ARCHIVE_FD), so messages stay small and the bytes get
// the pipe's backpressure. An import's plan comes back as a message (its lists
// are capped: see plan.ts).
import { z } from "zod";
import type { WireError } from "../engine/errors.js";
import type { ImportPlan } from "../engine/import/plan.js";
import type { KindCounts } from "../engine/records.js";

/** The worker's file descriptor for an export's archive bytes (fork's stdio index). */
export const ARCHIVE_FD = 3;

const database = z.discriminatedUnion("provider", [
  z.object({ provider: z.literal("sqlite"), file: z.string().min(1) }),
  z.object({ provider: z.literal("postgresql"), url: z.string().min(1), schema: z.string().min(1) }),
]);

const exportJob = z.object({
  type: z.literal("start"),
  job: z.literal("export"),
  database,
  ownerId: z.string().min(1),
  // OpenMemory's writer reads through Prisma, which a worker never starts
  format: z.enum(["ZIP", "JSONL"]),
  gzip: z.boolean().optional(),
  /** the filter in its stored form (storedFilter: dates as ISO strings) */
  filter: z.record(z.string(), z.unknown()),
  now: z.iso.datetime(),
});

const importJob = z.object({
  type: z.literal("start"),
  /** preview plans in a read snapshot; import plans and writes in one transaction */
  job: z.enum(["preview", "import"]),
  database,
  /** the archive on disk (a staged upload, a CLI argument) */
  path: z.string().min(1),
  targetUserId: z.string().min(1),
  options: z.object({
    mode: z.enum(["SKIP", "OVERWRITE"]),
    strict: z.boolean(),
    resolutions: z.array(
      z.object({
        conflictId: z.string().nullish(),
        kind: z.string().nullish(),
        resolution: z.enum(["SKIP", "OVERWRITE", "CREATE_NEW", "MERGE", "RENAME", "SKIP_RECORD", "CREATE_PLACEHOLDER", "FAIL"]),
      }),
    ),
  }),
  /** import: the history record the worker marks SUCCEEDED in the import's transaction */
  history: z.object({ recordId: z.string().min(1), format: z.enum(["ZIP", "JSONL", "OPENMEMORY"]) }).optional(),
});

/**
 * The one message that starts a worker's job. The database travels here, not
 * on the command line, where `ps` would show a password in its URL.
 */
export const startMessage = z.discriminatedUnion("job", [exportJob, importJob]);

export type StartMessage = z.infer<typeof startMessage>;
export type ExportJobMessage = z.infer<typeof exportJob>;
export type ImportJobMessage = z.infer<typeof importJob>;

/** What the worker measured of itself, for logs and the benchmark. */
export interface WorkerStats {
  pid: number;
  /** VmHWM when the job was done, and when its modules were loaded (MiB) */
  peakRssMiB: number;
  setupRssMiB: number;
  /** user + system CPU of the job itself (all threads) */
  cpuSeconds: number;
}

export interface ExportDone {
  records: number;
  total: number;
  counts: KindCounts;
}

export type WorkerMessage =
  /** listening: the server may send the start message */
  | { type: "ready" }
  /** records done: an export's written, a preview's decided, an import's written or skipped */
  | { type: "progress"; done: number; total: number }
  /**
   * An import about to take SQLite's write lock: the server holds its own
   * writes back (write-gate.ts) and answers "held"; "release" once the
   * transaction has ended.
   */
  | { type: "hold"; file: string }
  | { type: "release" }
  | { type: "done"; result: ExportDone | ImportPlan; stats: WorkerStats }
  | { type: "failed"; message: string; name?: string; error?: WireError };

/** What the server sends a worker once it runs (after "start"). */
export type ServerMessage = { type: "held" };
