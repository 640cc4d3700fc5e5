import type { Config } from "./config.js";
import type { Db } from "./db/client.js";
import type { ExportJobs } from "./jobs/export-jobs.js";
import type { ProgressPubSub } from "./jobs/progress.js";
import type { Workers } from "./jobs/workers.js";
import type { Logger } from "./logger.js";
import type { BlobStore } from "./storage/blob-store.js";

/** What the shells (GraphQL, HTTP routes, CLI) share: built once per process. */
export interface Services {
  config: Config;
  db: Db;
  logger: Logger;
  store: BlobStore;
  /** HMAC key of download links */
  downloadSecret: Buffer;
  pubsub: ProgressPubSub;
  exportJobs: ExportJobs;
  /** worker processes of exports and big imports, a spare kept between jobs */
  workers: Workers;
}
