// The export measurement: what a server does for an export job. A process with the
// server's Prisma client open (warm, then idle), the server's job runner
// (ExportJobs: claim, worker process, progress, blob commit, SUCCEEDED), a blob
// store that hashes and drops (null-store.ts). The export's own memory is the
// worker's, which it measures of itself and reports over IPC.
import { loadConfig, type Config } from "../src/config.js";
import { openDb } from "../src/db/client.js";
import { ALL_SECTIONS } from "../src/engine/kinds/index.js";
import { ExportJobs } from "../src/jobs/export-jobs.js";
import { Workers } from "../src/jobs/workers.js";
import type { WorkerStats } from "../src/jobs/worker-protocol.js";
import { createProgressPubSub } from "../src/jobs/progress.js";
import { createLogger } from "../src/logger.js";
import { nullBlobStore } from "./null-store.js";
import type { ChildSpec } from "./protocol.js";

export interface ServerJobRun {
  records: number;
  perKind: Record<string, number>;
  bytes: number;
  worker: WorkerStats;
}

const SETTLE_MS = 1000;

export async function serverJobRunner(spec: ChildSpec) {
  const handle = await openDb(spec.database);
  // a server's engine has run queries long before an export: pay its one-time start before the clock
  await handle.db.$transaction((tx) => tx.user.findUnique({ where: { id: spec.ownerId } }));
  const store = nullBlobStore();
  // the server's defaults (a spare worker among them), on the benchmark's database
  const config: Config = { ...loadConfig({}), database: spec.database };
  const logger = createLogger(process.env.BENCH_JOB_LOG ?? "warn");
  const workers = new Workers({ spareSeconds: config.spareWorkerSeconds, logger });
  const jobs = new ExportJobs({ config, db: handle.db, logger, store, pubsub: createProgressPubSub(), workers });
  const created: string[] = [];

  async function run(sections = [...ALL_SECTIONS]): Promise<ServerJobRun> {
    const before = store.written;
    let worker: WorkerStats | undefined;
    const onFinished = (e: { jobId: string; worker?: WorkerStats }) => (worker = e.worker);
    jobs.events.once("finished", onFinished);
    const job = await jobs.create({ requestedById: spec.ownerId, ownerId: spec.ownerId, format: "ZIP", filter: { sections } });
    created.push(job.id);
    await jobs.idle();
    const row = await handle.db.exportJob.findUniqueOrThrow({ where: { id: job.id } });
    if (row.status !== "SUCCEEDED" || !worker) throw new Error(`export job ${row.status}: ${row.error}`);
    return { records: row.recordsWritten, perKind: row.counts as Record<string, number>, bytes: store.written - before, worker };
  }

  // a running server has run export jobs before: Prisma has compiled the job's queries, the worker
  // bundle is built; a small one (personas only) pays for that before the clock
  await run(["PERSONAS"]);
  if (spec.warmExport) await run();
  // idle before the clock, as a server is: the warm-up's background work (V8 compiling what
  // it ran) would otherwise land in the measured window
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return {
    run,
    async close() {
      // the cached dataset keeps no trace of the benchmark's jobs
      await handle.db.exportJob.deleteMany({ where: { id: { in: created } } });
      await jobs.stop();
      workers.stop();
      await handle.close();
    },
  };
}
