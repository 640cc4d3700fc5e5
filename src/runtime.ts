import { mkdirSync } from "node:fs";
import { loadConfig, type Config } from "./config.js";
import { openDb, type DbOptions } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { loadDownloadSecret } from "./http/download-token.js";
import { ExportJobs } from "./jobs/export-jobs.js";
import { createProgressPubSub } from "./jobs/progress.js";
import { workerBundle } from "./jobs/worker-bundle.js";
import { WORKER_SOURCE } from "./jobs/worker-process.js";
import { Workers } from "./jobs/workers.js";
import { createLogger, type Logger } from "./logger.js";
import type { Services } from "./services.js";
import { createBlobStore } from "./storage/blob-store.js";

export interface Runtime extends Services {
  close(): Promise<void>;
}

/** Opens the database (migrating it first) and everything built on it. */
export async function openRuntime(options: { config?: Config; logger?: Logger; db?: DbOptions } = {}): Promise<Runtime> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const applied = await migrate(config.database);
  if (applied.length) logger.info({ migrations: applied }, "applied database migrations");
  const handle = await openDb(config.database, options.db);
  const store = createBlobStore(config);
  const pubsub = createProgressPubSub();
  const workers = new Workers({ spareSeconds: config.spareWorkerSeconds, logger });
  const exportJobs = new ExportJobs({ config, db: handle.db, logger, store, pubsub, workers });
  // built now, not when the first export or big import waits for it; a failure is met (and logged) there
  void workerBundle(WORKER_SOURCE).catch(() => {});
  return {
    config,
    logger,
    db: handle.db,
    store,
    downloadSecret: loadDownloadSecret(config),
    pubsub,
    exportJobs,
    workers,
    close: async () => {
      await exportJobs.stop();
      workers.stop();
      await handle.close();
    },
  };
}
