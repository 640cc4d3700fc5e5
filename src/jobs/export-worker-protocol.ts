// What the server and an export worker process (export-worker.ts) say to each
// other over the IPC channel. The archive itself does not travel here: the
// worker writes it to a pipe of its own (ARCHIVE_FD), so messages stay small
// and the bytes get the pipe's backpressure.
import { z } from "zod";
import type { KindCounts } from "../engine/records.js";

/** The worker's file descriptor for the archive bytes (fork's stdio index). */
export const ARCHIVE_FD = 3;

const database = z.discriminatedUnion("provider", [
  z.object({ provider: z.literal("sqlite"), file: z.string().min(1) }),
  z.object({ provider: z.literal("postgresql"), url: z.string().min(1), schema: z.string().min(1) }),
]);

/**
 * The one message the server sends: what to export. The database travels
 * here, not on the command line, where `ps` would show a password in its URL.
 */
export const startMessage = z.object({
  type: z.literal("start"),
  database,
  ownerId: z.string().min(1),
  // OpenMemory's writer reads through Prisma, which a worker never starts
  format: z.enum(["ZIP", "JSONL"]),
  gzip: z.boolean().optional(),
  /** the filter in its stored form (storedFilter: dates as ISO strings) */
  filter: z.record(z.string(), z.unknown()),
  now: z.iso.datetime(),
});

export type StartMessage = z.infer<typeof startMessage>;

/** What the worker measured of itself, for logs and the benchmark. */
export interface WorkerStats {
  pid: number;
  /** VmHWM when the export was done, and when its modules were loaded (MiB) */
  peakRssMiB: number;
  setupRssMiB: number;
  /** user + system CPU of the export itself (all threads) */
  cpuSeconds: number;
}

export type WorkerMessage =
  /** listening: the server may send the start message */
  | { type: "ready" }
  | { type: "progress"; written: number; total: number }
  | { type: "done"; result: { records: number; total: number; counts: KindCounts }; stats: WorkerStats }
  | { type: "failed"; message: string; name?: string };
