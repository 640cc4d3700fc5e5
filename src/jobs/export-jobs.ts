// Export jobs: persisted, run in the background with bounded concurrency,
// progress published as they go. A job its server stopped under (a restart, a
// deploy, a crash) is queued again and starts over when a server starts — on
// PostgreSQL one that no process runs any more (db/run-lock.ts) — up to
// MAX_ATTEMPTS runs, so that a job that brings its server down cannot do it forever.
// A job put back by a server that stopped gracefully is PENDING: a live server's
// watchPending() takes it meanwhile.
//
// ZIP and JSONL exports run in a worker process each (worker.ts), which
// reads through the driver and never starts Prisma: the server's own process
// holds ~200 MiB before the first record (tsx, its Prisma client), so an export
// inside it could not stay under 200 MB, and whatever an export grows is given
// back when the worker exits. This process keeps the job's row, the progress
// events and the blob (the worker's archive arrives over a pipe into the blob
// writer, which hashes and commits it). OPENMEMORY exports still run here:
// OpenMemory's writer reads through Prisma, and a worker with a Prisma client
// of its own would hold about as much as the server before its first record.
import { EventEmitter } from "node:events";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { whileHoldingRunLock, withFreeRunLocks } from "../db/run-lock.js";
import { archiveFilename, writeExport, type ExportFormat, type ExportResult } from "../engine/export.js";
import type { ExportFilter } from "../engine/kinds/index.js";
import { withSnapshot } from "../engine/snapshot.js";
import type { Logger } from "../logger.js";
import type { BlobStore, BlobWriter } from "../storage/blob-store.js";
import type { ExportDone, WorkerStats } from "./worker-protocol.js";
import type { Workers } from "./workers.js";
import { throttle, type ProgressPubSub } from "./progress.js";
import { filterFromStored, storedFilter } from "./stored-filter.js";

export { filterFromStored, storedFilter } from "./stored-filter.js";

export interface ExportJobsDeps {
  config: Config;
  db: Db;
  logger: Logger;
  store: BlobStore;
  pubsub: ProgressPubSub;
  /** the processes jobs run in, a spare among them (shared with big imports) */
  workers: Workers;
}

/** The name of the lock a job's runner holds on PostgreSQL (db/run-lock.ts). */
export const exportLock = (jobId: string) => `stowage:export:${jobId}`;

/** runs a job may begin: each stop of its server under it costs one */
export const MAX_ATTEMPTS = 3;

export const INTERRUPTED = `interrupted: the server stopped while this export was running, ${MAX_ATTEMPTS} times; start it again`;

export const CANCELLED = "cancelled: nothing of this export was kept";

/** a job that starts over: queued, as if it had never run */
const REQUEUED = { status: "PENDING" as const, startedAt: null, recordsWritten: 0, recordsTotal: 0 };

const EXTENSION: Record<ExportFormat, string> = { ZIP: "zip", JSONL: "jsonl.gz", OPENMEMORY: "zip" };

/** What happens to jobs, for whoever watches the runner (logs, tests, the benchmark). */
export interface ExportJobEvents {
  /** a job's worker process started */
  worker: [{ jobId: string; pid: number }];
  /** a job reached SUCCEEDED or FAILED; `worker` is what its worker measured of itself, when one finished */
  finished: [{ jobId: string; status: "SUCCEEDED" | "FAILED"; worker?: WorkerStats }];
}

export class ExportJobs {
  readonly events = new EventEmitter<ExportJobEvents>();
  private queue: string[] = [];
  private running = new Map<string, Promise<void>>();
  private cancels = new Map<string, AbortController>();
  private pids = new Map<string, number>();
  private stopped = false;
  private watch: NodeJS.Timeout | undefined;

  constructor(private deps: ExportJobsDeps) {}

  /**
   * Takes up the jobs a previous process left RUNNING (started by `before`,
   * when this one began) — on PostgreSQL only those whose lock nobody holds,
   * so not another server's: each starts over, or fails as interrupted once it
   * has begun MAX_ATTEMPTS runs. Then queues every PENDING job.
   */
  async recover(before: Date = new Date()): Promise<{ resumed: number; failed: number; queued: number }> {
    const { db, config } = this.deps;
    const where = { status: "RUNNING" as const, startedAt: { lte: before } };
    const settle = async (tx: Db, ids?: string[]) => {
      const these = ids ? { ...where, id: { in: ids } } : where;
      const resumed = await tx.exportJob.updateMany({ where: { ...these, attempts: { lt: MAX_ATTEMPTS } }, data: REQUEUED });
      const failed = await tx.exportJob.updateMany({ where: these, data: { status: "FAILED", error: INTERRUPTED, finishedAt: new Date() } });
      return { resumed: resumed.count, failed: failed.count };
    };
    let settled: { resumed: number; failed: number };
    // SQLite: one server per database, which has not started a job yet
    if (config.database.provider === "sqlite") settled = await settle(db);
    else {
      const running = await db.exportJob.findMany({ where, select: { id: true } });
      settled = await withFreeRunLocks(db, running.map((j) => j.id), exportLock, settle);
    }
    return { ...settled, queued: await this.queuePending() };
  }

  /**
   * Every `intervalMs`, queues the PENDING jobs this runner does not have yet:
   * on PostgreSQL, those another server created or put back as it stopped are
   * taken by whichever server is alive (the lock and the claim keep each job
   * to one runner). The timer keeps no process alive; stop() ends it.
   */
  watchPending(intervalMs: number): void {
    clearInterval(this.watch);
    this.watch = setInterval(() => void this.queuePending().catch((err) => this.deps.logger.warn({ err }, "could not look for pending export jobs")), intervalMs);
    this.watch.unref();
  }

  /** Queues the PENDING jobs not queued or running here, oldest first; how many. */
  private async queuePending(): Promise<number> {
    const pending = await this.deps.db.exportJob.findMany({ where: { status: "PENDING" }, orderBy: { createdAt: "asc" }, select: { id: true } });
    const fresh = pending.filter((p) => !this.queue.includes(p.id) && !this.running.has(p.id));
    for (const p of fresh) this.enqueue(p.id);
    return fresh.length;
  }

  async create(input: { requestedById: string; ownerId: string; format: ExportFormat; filter: ExportFilter }) {
    const job = await this.deps.db.exportJob.create({
      data: {
        requestedById: input.requestedById,
        ownerId: input.ownerId,
        format: input.format,
        filter: storedFilter(input.filter) as object,
      },
    });
    this.enqueue(job.id);
    return job;
  }

  /** The pid of the worker process running this job, while it runs. */
  workerPid(jobId: string): number | undefined {
    return this.pids.get(jobId);
  }

  private enqueue(id: string) {
    this.queue.push(id);
    this.pump();
  }

  private pump() {
    while (!this.stopped && this.running.size < this.deps.config.exportConcurrency && this.queue.length) {
      const id = this.queue.shift()!;
      const run = this.run(id)
        .catch((err) => this.deps.logger.error({ err, job: id }, "export job crashed"))
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
      this.running.set(id, run);
    }
  }

  /** Resolves when every queued and running job has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size || this.queue.length) await Promise.all([...this.running.values()]);
  }

  /** Takes no more jobs and stops the running ones (a worker is killed, an OPENMEMORY export stops at its next progress report): they are queued again, for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    this.queue = [];
    for (const c of this.cancels.values()) c.abort(new Error(INTERRUPTED));
    await Promise.allSettled([...this.running.values()]);
  }

  private async run(id: string) {
    // the lock before the claim: no server that starts meanwhile finds the job RUNNING with nobody holding it;
    // a job whose lock is held is another server's
    await whileHoldingRunLock(this.deps.config.database, exportLock(id), () => this.claimAndRun(id));
  }

  private async claimAndRun(id: string) {
    const { db, store, pubsub, config, logger } = this.deps;
    const claimed = await db.exportJob.updateMany({ where: { id, status: "PENDING" }, data: { status: "RUNNING", startedAt: new Date(), attempts: { increment: 1 } } });
    if (!claimed.count) return;
    const job = await db.exportJob.findUniqueOrThrow({ where: { id }, include: { owner: true } });
    const format = job.format as ExportFormat;
    const now = new Date();
    const key = `exports/${job.id}.${EXTENSION[format]}`;
    const publish = (status: "RUNNING" | "SUCCEEDED" | "FAILED", recordsWritten: number, recordsTotal: number) =>
      pubsub.publish("exportProgress", id, { id, status, recordsWritten, recordsTotal });
    // aborted by stop(), or by a cancel: this server's at once, another server's when the progress write finds the job no longer RUNNING
    const cancel = new AbortController();
    const cancelled = () => cancel.abort(new Error(CANCELLED));
    const saveProgress = throttle(500, (written: number, total: number) => {
      publish("RUNNING", written, total);
      void db.exportJob
        .updateMany({ where: { id, status: "RUNNING" }, data: { recordsWritten: written, recordsTotal: total } })
        .then(({ count }) => count || cancelled(), () => {});
    });
    // OPENMEMORY's writer runs here: it stops where it reports
    const onProgress = (written: number, total: number) => {
      cancel.signal.throwIfAborted();
      saveProgress.call(written, total);
    };
    const writer = await store.openWriter(key);
    let worker: WorkerStats | undefined;
    this.cancels.set(id, cancel);
    if (this.stopped) cancel.abort(new Error(INTERRUPTED));
    try {
      let result: ExportResult;
      if (format === "OPENMEMORY") {
        const options = { ownerId: job.ownerId, filter: filterFromStored(job.filter), format, now, onProgress };
        result = await withSnapshot(config.database, (snapshot) => writeExport(snapshot, options, writer));
      } else {
        ({ result, stats: worker } = await this.inWorker(id, job, format, now, writer, saveProgress.call, cancel.signal));
      }
      saveProgress.flush();
      const blob = await writer.commit();
      const finishedAt = new Date();
      const { count } = await db.exportJob.updateMany({
        where: { id, status: "RUNNING" },
        data: {
          status: "SUCCEEDED",
          recordsWritten: result.records,
          recordsTotal: result.total,
          counts: result.counts as object,
          byteSize: BigInt(blob.bytes),
          sha256: blob.sha256,
          storageKey: key,
          filename: archiveFilename(format, job.owner.email, now),
          finishedAt,
          expiresAt: new Date(finishedAt.getTime() + config.downloadTtlSeconds * 1000),
        },
      });
      // cancelled as it ended: the catch takes the archive back (an aborted writer unpublishes its commit)
      if (!count) throw new Error(CANCELLED);
      publish("SUCCEEDED", result.records, result.total);
      logger.info({ job: id, records: result.records, bytes: blob.bytes, worker }, "export finished");
      this.events.emit("finished", { jobId: id, status: "SUCCEEDED", worker });
    } catch (err) {
      await writer.abort();
      if (cancel.signal.reason?.message === CANCELLED || (err as Error)?.message === CANCELLED) {
        // FAILED as cancelled already, and told so, by cancel() (here or on another server)
        logger.info({ job: id }, "export cancelled");
        this.events.emit("finished", { jobId: id, status: "FAILED" });
        return;
      }
      if (this.stopped && (await this.requeue(id))) {
        logger.info({ job: id }, "export stopped with its server; it starts over at the next start");
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      await db.exportJob.updateMany({ where: { id, status: "RUNNING" }, data: { status: "FAILED", error: message, finishedAt: new Date() } });
      const j = await db.exportJob.findUniqueOrThrow({ where: { id } });
      publish("FAILED", j.recordsWritten, j.recordsTotal);
      logger.warn({ err, job: id }, "export failed");
      this.events.emit("finished", { jobId: id, status: "FAILED" });
    } finally {
      this.cancels.delete(id);
    }
  }

  /**
   * Cancels a job that has not finished: it ends FAILED as cancelled, and
   * nothing of it is kept. A job this server runs stops at once; one another
   * server runs, at its next progress write (every half second of its work).
   * False when the job had finished already.
   */
  async cancel(id: string): Promise<boolean> {
    const { db, pubsub } = this.deps;
    const { count } = await db.exportJob.updateMany({
      where: { id, status: { in: ["PENDING", "RUNNING"] } },
      data: { status: "FAILED", error: CANCELLED, finishedAt: new Date() },
    });
    if (!count) return false;
    this.cancels.get(id)?.abort(new Error(CANCELLED));
    const j = await db.exportJob.findUniqueOrThrow({ where: { id } });
    pubsub.publish("exportProgress", id, { id, status: "FAILED", recordsWritten: j.recordsWritten, recordsTotal: j.recordsTotal });
    return true;
  }

  /** Queues a job its server stopped under for the next start, unless it has had all its runs. */
  private async requeue(id: string): Promise<boolean> {
    const { count } = await this.deps.db.exportJob.updateMany({ where: { id, status: "RUNNING", attempts: { lt: MAX_ATTEMPTS } }, data: REQUEUED });
    if (count) this.deps.pubsub.publish("exportProgress", id, { id, status: "PENDING", recordsWritten: 0, recordsTotal: 0 });
    return count > 0;
  }

  private async inWorker(
    id: string,
    job: { ownerId: string; filter: unknown },
    format: "ZIP" | "JSONL",
    now: Date,
    writer: BlobWriter,
    onProgress: (written: number, total: number) => void,
    signal: AbortSignal,
  ) {
    // stop() or a cancel came between the claim and here: start no worker it could not kill
    signal.throwIfAborted();
    try {
      const worker = await this.deps.workers.take();
      this.pids.set(id, worker.pid);
      this.deps.logger.info({ job: id, workerPid: worker.pid }, "export worker started");
      this.events.emit("worker", { jobId: id, pid: worker.pid });
      const start = { type: "start", job: "export", database: this.deps.config.database, ownerId: job.ownerId, format, filter: job.filter as Record<string, unknown>, now: now.toISOString() } as const;
      return await worker.run<ExportDone>(start, { sink: writer, onProgress, signal });
    } finally {
      this.pids.delete(id);
      if (!this.stopped) this.deps.workers.keepSpare();
    }
  }
}
