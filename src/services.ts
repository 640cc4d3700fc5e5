import type { Config } from "./config.js";
import type { Db } from "./db/client.js";
import type { Logger } from "./logger.js";

/** What the shells (GraphQL, HTTP routes, CLI) share: built once per process. */
export interface Services {
  config: Config;
  db: Db;
  logger: Logger;
}
