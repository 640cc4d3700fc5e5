// Imports as the shells start them: an archive file on disk, a target user,
// options; preview answers with the plan, import also keeps a history record
// — failed imports included. A big archive is planned (and written) in a
// worker process (jobs/import-worker.ts), a small one here: the same planner
// either way.
import { DEFAULT_IMPORT_WORKER_MIN_BYTES, type Config } from "../../config.js";
import type { Db } from "../../db/client.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import type { OpenedArchive } from "../archive/reader.js";
import { StowageError } from "../errors.js";
import { planInWorker } from "../../jobs/import-worker.js";
import type { WorkerStats } from "../../jobs/worker-protocol.js";
import type { Workers } from "../../jobs/workers.js";
import { historyFormat, INTERRUPTED } from "./history.js";
import { runnerAlive, thisRunner } from "./runner.js";
import type { ImportPlan } from "./plan.js";
import { oneImportAtATime, preview, runImport } from "./run.js";
import { openSource } from "./source.js";
import type { ImportOptions, LineSource } from "./types.js";

export type ImportConfig = Pick<Config, "database"> & Partial<Pick<Config, "importWorkerMinBytes">>;

const inWorker = (config: ImportConfig, file: ArchiveFile) => Number(file.byteSize) >= (config.importWorkerMinBytes ?? DEFAULT_IMPORT_WORKER_MIN_BYTES);

export interface ArchiveFile {
  path: string;
  filename: string;
  sha256: string;
  byteSize: number | bigint;
}

/** What previews and imports run with; `workers` keeps a worker process ready for big archives (none: one is started each time). */
export interface PreviewServices {
  config: ImportConfig;
  workers?: Workers;
}

export interface ImportServices extends PreviewServices {
  db: Db;
}

export async function previewArchive({ config, workers }: PreviewServices, file: ArchiveFile, targetUserId: string, options: ImportOptions) {
  const { archive, source } = await openSource(file.path);
  let plan: ImportPlan;
  let worker: WorkerStats | undefined;
  if (inWorker(config, file)) ({ plan, stats: worker } = await planInWorker({ job: "preview", database: config.database, path: file.path, targetUserId, options }, workers));
  else plan = await preview(config.database, { targetUserId, options, source });
  return { archive, plan, format: historyFormat(archive.format, plan), worker };
}

export async function importArchive(
  services: ImportServices,
  req: {
    requesterId: string;
    targetUserId: string;
    file: ArchiveFile;
    options: ImportOptions;
    onStart?: (record: ImportRecord) => void;
    onProgress?: (done: number, total: number) => void;
    /** a big archive is imported by a worker process: its pid, once it runs */
    onWorker?: (pid: number) => void;
  },
): Promise<{ record: ImportRecord; plan: ImportPlan | null; error: StowageError | null; worker?: WorkerStats }> {
  const { db } = services;
  let archive: OpenedArchive | null = null;
  let source: LineSource | null = null;
  let openError: unknown = null;
  let worker: WorkerStats | undefined;
  try {
    ({ archive, source } = await openSource(req.file.path));
  } catch (err) {
    openError = err;
  }
  const record = await db.importRecord.create({
    data: {
      requestedById: req.requesterId,
      targetUserId: req.targetUserId,
      filename: req.file.filename,
      sha256: req.file.sha256,
      byteSize: BigInt(req.file.byteSize),
      format: archive ? historyFormat(archive.format, null) : "JSONL",
      mode: req.options.mode,
      options: { mode: req.options.mode, strict: req.options.strict, resolutions: req.options.resolutions.map((r) => ({ ...r })) } as object,
      status: "RUNNING",
      runner: thisRunner,
    },
  });
  req.onStart?.(record);
  try {
    if (openError) throw openError;
    const { database } = services.config;
    const { targetUserId, options, onProgress } = req;
    // the record's success is written in the import's transaction: committed together or not at all
    const history = { recordId: record.id, format: archive!.format };
    let plan: ImportPlan;
    if (inWorker(services.config, req.file))
      ({ plan, stats: worker } = await oneImportAtATime(() =>
        planInWorker({ job: "import", database, path: req.file.path, targetUserId, options, history, onProgress, onWorker: req.onWorker }, services.workers),
      ));
    else plan = await runImport(database, { targetUserId, options, source: source!, history, onProgress });
    const done = await db.importRecord.findUniqueOrThrow({ where: { id: record.id } });
    return { record: done, plan, error: null, worker };
  } catch (err) {
    // only while RUNNING: a worker lost after its COMMIT has marked the record SUCCEEDED, and the history keeps what the database holds
    await db.importRecord.updateMany({
      where: { id: record.id, status: "RUNNING" },
      data: { status: "FAILED", error: err instanceof Error ? err.message : String(err), finishedAt: new Date() },
    });
    const failed = await db.importRecord.findUniqueOrThrow({ where: { id: record.id } });
    if (err instanceof StowageError) return { record: failed, plan: null, error: err };
    throw err;
  }
}

/**
 * Fails the imports a previous server process left RUNNING (those started
 * by `before`, when this one began, whose process is gone or cannot be asked): their
 * transactions never committed (a committed one says SUCCEEDED), so nothing
 * of them was written.
 */
export async function recoverImports(db: Db, before: Date = new Date()): Promise<number> {
  const running = await db.importRecord.findMany({ where: { status: "RUNNING", startedAt: { lte: before } }, select: { id: true, runner: true } });
  const gone = running.filter((r) => !runnerAlive(r.runner)).map((r) => r.id);
  if (!gone.length) return 0;
  const { count } = await db.importRecord.updateMany({
    where: { id: { in: gone }, status: "RUNNING" },
    data: { status: "FAILED", error: INTERRUPTED, finishedAt: new Date() },
  });
  return count;
}
