// Export jobs: persisted, run in the background with bounded concurrency,
// progress published as they go. A restart fails what was running.
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { archiveFilename, writeExport, type ExportFormat } from "../engine/export.js";
import type { ExportFilter } from "../engine/kinds/index.js";
import { exportSnapshot } from "../engine/snapshot.js";
import type { Logger } from "../logger.js";
import type { BlobStore } from "../storage/blob-store.js";
import { throttle, type ProgressPubSub } from "./progress.js";

export interface ExportJobsDeps {
  config: Config;
  db: Db;
  logger: Logger;
  store: BlobStore;
  pubsub: ProgressPubSub;
}

export const INTERRUPTED = "interrupted: the server stopped while this export was running; start it again";

/** The filter as stored on the job (JSON) and read back. */
export function storedFilter(filter: ExportFilter): Record<string, unknown> {
  return { ...filter, from: filter.from?.toISOString() ?? null, to: filter.to?.toISOString() ?? null };
}

export function filterFromStored(json: unknown): ExportFilter {
  const f = json as Record<string, unknown>;
  return { ...(f as unknown as ExportFilter), from: f.from ? new Date(f.from as string) : null, to: f.to ? new Date(f.to as string) : null };
}

const EXTENSION: Record<ExportFormat, string> = { ZIP: "zip", JSONL: "jsonl.gz", OPENMEMORY: "zip" };

export class ExportJobs {
  private queue: string[] = [];
  private running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private deps: ExportJobsDeps) {}

  /** Fails jobs a previous process left RUNNING; queues those that never started. */
  async recover(): Promise<{ failed: number; requeued: number }> {
    const { db } = this.deps;
    const { count: failed } = await db.exportJob.updateMany({
      where: { status: "RUNNING" },
      data: { status: "FAILED", error: INTERRUPTED, finishedAt: new Date() },
    });
    const pending = await db.exportJob.findMany({ where: { status: "PENDING" }, orderBy: { createdAt: "asc" }, select: { id: true } });
    for (const p of pending) this.enqueue(p.id);
    return { failed, requeued: pending.length };
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

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    await Promise.allSettled([...this.running.values()]);
  }

  private async run(id: string) {
    const { db, store, pubsub, config, logger } = this.deps;
    const claimed = await db.exportJob.updateMany({ where: { id, status: "PENDING" }, data: { status: "RUNNING", startedAt: new Date() } });
    if (!claimed.count) return;
    const job = await db.exportJob.findUniqueOrThrow({ where: { id }, include: { owner: true } });
    const format = job.format as ExportFormat;
    const now = new Date();
    const key = `exports/${job.id}.${EXTENSION[format]}`;
    const publish = (status: "RUNNING" | "SUCCEEDED" | "FAILED", recordsWritten: number, recordsTotal: number) =>
      pubsub.publish("exportProgress", id, { id, status, recordsWritten, recordsTotal });
    const saveProgress = throttle(500, (written: number, total: number) => {
      publish("RUNNING", written, total);
      void db.exportJob.update({ where: { id }, data: { recordsWritten: written, recordsTotal: total } }).catch(() => {});
    });
    const writer = await store.openWriter(key);
    try {
      const result = await exportSnapshot(format)(config.database, (snapshot) =>
        writeExport(snapshot, { ownerId: job.ownerId, filter: filterFromStored(job.filter), format, now, onProgress: saveProgress.call }, writer),
      );
      saveProgress.flush();
      const blob = await writer.commit();
      const finishedAt = new Date();
      await db.exportJob.update({
        where: { id },
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
      publish("SUCCEEDED", result.records, result.total);
      logger.info({ job: id, records: result.records, bytes: blob.bytes }, "export finished");
    } catch (err) {
      await writer.abort();
      const message = err instanceof Error ? err.message : String(err);
      const j = await db.exportJob.update({ where: { id }, data: { status: "FAILED", error: message, finishedAt: new Date() } });
      publish("FAILED", j.recordsWritten, j.recordsTotal);
      logger.warn({ err, job: id }, "export failed");
    }
  }
}
