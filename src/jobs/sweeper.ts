import type { Services } from "../services.js";
import type { BlobStore } from "../storage/blob-store.js";

export interface SweepCounts {
  /** SUCCEEDED export jobs past expiresAt, now EXPIRED */
  exportsExpired: number;
  /** archive blobs removed (of jobs expired now or by an earlier, interrupted sweep) */
  exportBlobsDeleted: number;
  /** StagedUpload rows past expiresAt, deleted */
  stagedUploadsDeleted: number;
  stagedBlobsDeleted: number;
  /** temporary files of writers that never committed (crash), see BlobStore.sweepIncomplete */
  incompleteBlobsDeleted: number;
}

const BATCH = 500;
// a temp file untouched this long belongs to a writer that is gone
const INCOMPLETE_AFTER_MS = 24 * 3600 * 1000;

/**
 * Retires what has outlived its lifetime.
 *
 * Export jobs: SUCCEEDED jobs whose expiresAt has passed become EXPIRED (one
 * conditional UPDATE, so a concurrent sweep counts each job once); then every
 * EXPIRED job that still has a storageKey gets its blob deleted and its
 * storageKey cleared. Keying the second step on "EXPIRED with a storageKey"
 * makes it self-healing: a blob whose deletion failed or was interrupted is
 * retried by the next sweep. byteSize and sha256 stay, as history.
 *
 * Staged uploads: the blob is deleted first, then the row, so a failure
 * leaves the row (and a retry) rather than an orphaned blob.
 */
export async function sweepExpired(services: Services, store: BlobStore, now: Date = new Date()): Promise<SweepCounts> {
  const { db, logger } = services;
  const counts: SweepCounts = { exportsExpired: 0, exportBlobsDeleted: 0, stagedUploadsDeleted: 0, stagedBlobsDeleted: 0, incompleteBlobsDeleted: 0 };

  const expired = await db.exportJob.updateMany({
    where: { status: "SUCCEEDED", expiresAt: { lte: now } },
    data: { status: "EXPIRED" },
  });
  counts.exportsExpired = expired.count;

  for (let after = ""; ; ) {
    const jobs = await db.exportJob.findMany({
      where: { status: "EXPIRED", storageKey: { not: null }, id: { gt: after } },
      select: { id: true, storageKey: true },
      orderBy: { id: "asc" },
      take: BATCH,
    });
    if (!jobs.length) break;
    after = jobs[jobs.length - 1].id;
    for (const job of jobs) if ((await retireExportBlob(services, store, job)) === "deleted") counts.exportBlobsDeleted++;
  }

  for (let after = ""; ; ) {
    const uploads = await db.stagedUpload.findMany({
      where: { expiresAt: { lte: now }, id: { gt: after } },
      select: { id: true, storageKey: true },
      orderBy: { id: "asc" },
      take: BATCH,
    });
    if (!uploads.length) break;
    after = uploads[uploads.length - 1].id;
    const gone: string[] = [];
    for (const u of uploads) {
      try {
        if (await store.delete(u.storageKey)) counts.stagedBlobsDeleted++;
        gone.push(u.id);
      } catch (err) {
        logger.warn({ err, uploadId: u.id, storageKey: u.storageKey }, "could not delete an expired staged upload's blob; will retry");
      }
    }
    if (gone.length) {
      const deleted = await db.stagedUpload.deleteMany({ where: { id: { in: gone } } });
      counts.stagedUploadsDeleted += deleted.count;
    }
  }

  if (store.sweepIncomplete) {
    counts.incompleteBlobsDeleted = await store.sweepIncomplete(new Date(now.getTime() - INCOMPLETE_AFTER_MS));
  }

  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total) logger.info(counts, "swept expired exports and uploads");
  return counts;
}

/**
 * Deletes an EXPIRED job's archive and clears its storageKey; a failure is
 * logged and left for the next sweep, which retries every EXPIRED job that
 * still has a storageKey.
 */
async function retireExportBlob(services: Services, store: BlobStore, job: { id: string; storageKey: string | null }): Promise<"deleted" | "gone" | "failed"> {
  if (!job.storageKey) return "gone";
  let deleted: boolean;
  try {
    deleted = await store.delete(job.storageKey);
  } catch (err) {
    services.logger.warn({ err, jobId: job.id, storageKey: job.storageKey }, "could not delete an expired export's blob; will retry");
    return "failed";
  }
  await services.db.exportJob.updateMany({ where: { id: job.id, status: "EXPIRED" }, data: { storageKey: null } });
  return deleted ? "deleted" : "gone";
}

/**
 * Expires a finished export now, at its owner's word: its download links stop
 * working at once and its archive is deleted (or, should the store fail, by the
 * next sweep). True when the job is EXPIRED now (it may have been already);
 * false when it has not SUCCEEDED (PENDING, RUNNING, FAILED).
 */
export async function expireExportNow(services: Services, store: BlobStore, jobId: string): Promise<boolean> {
  const { db } = services;
  await db.exportJob.updateMany({ where: { id: jobId, status: "SUCCEEDED" }, data: { status: "EXPIRED", expiresAt: new Date() } });
  const job = await db.exportJob.findUnique({ where: { id: jobId }, select: { id: true, status: true, storageKey: true } });
  if (job?.status !== "EXPIRED") return false;
  await retireExportBlob(services, store, job);
  return true;
}

/**
 * Runs sweepExpired now and then every `intervalMs` (the timer does not keep
 * the process alive; sweeps never overlap). The returned function stops it and
 * resolves once a sweep in progress has finished, so the caller can close the
 * database afterwards.
 */
export function startSweeper(services: Services, store: BlobStore, intervalMs = 10 * 60 * 1000): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = sweepExpired(services, store)
      .then(
        () => {},
        (err) => services.logger.error({ err }, "sweep failed"),
      )
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(tick, 0);
  first.unref();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
