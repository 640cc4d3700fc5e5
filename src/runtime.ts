import { mkdirSync } from "node:fs";
import { loadConfig, type Config } from "./config.js";
import { openDb, type DbOptions } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { createLogger, type Logger } from "./logger.js";
import type { Services } from "./services.js";

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
  return {
    config,
    logger,
    db: handle.db,
    close: () => handle.close(),
  };
}
