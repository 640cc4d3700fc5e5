import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { Database } from "../config.js";
import { pgPoolConfig } from "./pg-config.js";
import { SQLITE_BUSY_TIMEOUT_MS } from "./write-gate.js";

export { pgPoolConfig } from "./pg-config.js";

export function adapterFactory(db: Database) {
  if (db.provider === "sqlite") {
    mkdirSync(dirname(db.file), { recursive: true });
    return new PrismaBetterSqlite3({ url: `file:${db.file}`, timeout: SQLITE_BUSY_TIMEOUT_MS });
  }
  return new PrismaPg(pgPoolConfig(db), { schema: db.schema });
}
