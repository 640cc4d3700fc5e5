// Imports as the shells start them: an archive file on disk, a target user,
// options; preview answers with the plan, import also keeps a history record
// — failed imports included. A big archive is planned (and written) in a
// worker process (jobs/import-worker.ts), a small one here: the same planner
// either way.
import { randomUUID } from "node:crypto";
import { DEFAULT_IMPORT_WORKER_MIN_BYTES, type Config, type Database } from "../../config.js";
import type { Db } from "../../db/client.js";
import { whileHoldingRunLock, withFreeRunLocks } from "../../db/run-lock.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import type { OpenedArchive } from "../archive/reader.js";
import { StowageError } from "../errors.js";
import { planInWorker } from "../../jobs/import-worker.js";
import type { WorkerStats } from "../../jobs/worker-protocol.js";
import type { Workers } from "../../jobs/workers.js";
import type { Logger } from "../../logger.js";
import { failureOf, historyFormat, INTERRUPTED, outcomeOf, type ImportOutcome } from "./history.js";
import { importLock, runnerAlive, thisRunner } from "./runner.js";
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
  logger?: Pick<Logger, "warn">;
}

/** `onProgress` hears how many records are decided (of those pass A counted), every thousand and at the end. */
export async function previewArchive(
  { config, workers }: PreviewServices,
  file: ArchiveFile,
  targetUserId: string,
  options: ImportOptions,
  onProgress?: (decided: number, total: number) => void,
) {
  const { archive, source } = await openSource(file.path);
  let plan: ImportPlan;
  let worker: WorkerStats | undefined;
  if (inWorker(config, file)) ({ plan, stats: worker } = await planInWorker({ job: "preview", database: config.database, path: file.path, byteSize: Number(file.byteSize), targetUserId, options, onProgress }, workers));
  else plan = await preview(config.database, { targetUserId, options, source, onProgress });
  return { archive, plan, format: historyFormat(archive.format, plan), worker };
}

export interface ImportArchiveRequest {
  requesterId: string;
  targetUserId: string;
  file: ArchiveFile;
  options: ImportOptions;
  onStart?: (record: ImportRecord) => void;
  onProgress?: (done: number, total: number) => void;
  /** a big archive is imported by a worker process: its pid, once it runs */
  onWorker?: (pid: number) => void;
}

export interface ImportArchiveResult {
  record: ImportRecord;
  /** what it did, as the record says (so even when its worker was lost right after its commit), once it succeeded */
  outcome: ImportOutcome | null;
  error: StowageError | null;
  worker?: WorkerStats;
}

/** The archive as opened before the record is made: an archive that cannot be read is a failed import, in the history too. */
type Opened = { archive: OpenedArchive; source: LineSource; error?: undefined } | { archive?: undefined; source?: undefined; error: unknown };

export async function importArchive(services: ImportServices, req: ImportArchiveRequest): Promise<ImportArchiveResult> {
  let opened: Opened;
  try {
    opened = await openSource(req.file.path);
  } catch (error) {
    opened = { error };
  }
  // the lock before the record exists, so no server that starts meanwhile finds it RUNNING with nobody holding it
  const { database } = services.config;
  const id = randomUUID();
  const result = await whileHoldingRunLock(database, importLock(id), () => recordedImport(services, req, id, opened));
  if (!result) throw new Error(`the lock of import ${id}, a new id, is held by another session`);
  return result;
}

/** The import, from its history record's creation to its outcome. */
async function recordedImport(
  services: ImportServices,
  req: ImportArchiveRequest,
  id: string,
  opened: Opened,
): Promise<ImportArchiveResult> {
  const { db } = services;
  const { database } = services.config;
  const record = await db.importRecord.create({
    data: {
      id,
      requestedById: req.requesterId,
      targetUserId: req.targetUserId,
      filename: req.file.filename,
      sha256: req.file.sha256,
      byteSize: BigInt(req.file.byteSize),
      format: opened.archive ? historyFormat(opened.archive.format, null) : "JSONL",
      mode: req.options.mode,
      options: { mode: req.options.mode, strict: req.options.strict, resolutions: req.options.resolutions.map((r) => ({ ...r })) } as object,
      status: "RUNNING",
      runner: thisRunner,
    },
  });
  req.onStart?.(record);
  try {
    if (!opened.archive) throw opened.error;
    const { archive, source } = opened;
    const { targetUserId, options, onProgress } = req;
    // the record's success is written in the import's transaction: committed together or not at all
    const history = { recordId: record.id, format: archive.format };
    let worker: WorkerStats | undefined;
    if (inWorker(services.config, req.file))
      ({ stats: worker } = await oneImportAtATime(() =>
        planInWorker(
          { job: "import", database, path: req.file.path, byteSize: Number(req.file.byteSize), targetUserId, options, history, onProgress, onWorker: req.onWorker },
          services.workers,
        ),
      ));
    else await runImport(database, { targetUserId, options, source, history, onProgress });
    const done = await db.importRecord.findUniqueOrThrow({ where: { id: record.id } });
    return { record: done, outcome: outcomeOf(done), error: null, worker };
  } catch (err) {
    // only while RUNNING: a worker lost after its COMMIT has marked the record SUCCEEDED, and the history keeps what the database holds
    await db.importRecord.updateMany({
      where: { id: record.id, status: "RUNNING" },
      data: {
        status: "FAILED",
        error: err instanceof Error ? err.message : String(err),
        failure: failureOf(err),
        finishedAt: new Date(),
      },
    });
    const after = await db.importRecord.findUniqueOrThrow({ where: { id: record.id } });
    if (after.status === "SUCCEEDED") {
      // committed, then lost before it could answer: the import happened, and its record tells what it did
      services.logger?.warn({ err, import: record.id }, "the import's worker was lost after its commit; the import succeeded");
      return { record: after, outcome: outcomeOf(after), error: null };
    }
    if (err instanceof StowageError) return { record: after, outcome: null, error: err };
    throw err;
  }
}

/**
 * Fails the imports a previous server process left RUNNING (those started by
 * `before`, when this one began, whose runner is gone): their transactions
 * never committed (a committed one says SUCCEEDED), so nothing of them was
 * written. On PostgreSQL a runner is alive while it holds its import's lock,
 * wherever it runs; on SQLite, while its process on this machine is.
 */
export async function recoverImports(db: Db, database: Database, before: Date = new Date()): Promise<number> {
  const running = await db.importRecord.findMany({ where: { status: "RUNNING", startedAt: { lte: before } }, select: { id: true, runner: true } });
  const fail = async (tx: Db, ids: string[]) => {
    if (!ids.length) return 0;
    const { count } = await tx.importRecord.updateMany({
      where: { id: { in: ids }, status: "RUNNING" },
      data: { status: "FAILED", error: INTERRUPTED, finishedAt: new Date() },
    });
    return count;
  };
  if (database.provider === "sqlite") return fail(db, running.filter((r) => !runnerAlive(r.runner)).map((r) => r.id));
  return withFreeRunLocks(db, running.map((r) => r.id), importLock, fail);
}
