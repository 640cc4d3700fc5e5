import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { PoolConfig } from "pg";
import type { Database } from "../config.js";

// Fields passed one by one: a connectionString would override the shadow
// database name the migration engine picks.
export function pgPoolConfig(db: Extract<Database, { provider: "postgresql" }>): PoolConfig {
  const u = new URL(db.url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: u.pathname.replace(/^\//, "") || undefined,
    options: `-c search_path="${db.schema}"`,
    max: 10,
  };
}

export function adapterFactory(db: Database) {
  if (db.provider === "sqlite") {
    mkdirSync(dirname(db.file), { recursive: true });
    return new PrismaBetterSqlite3({ url: `file:${db.file}`, timeout: 30_000 });
  }
  return new PrismaPg(pgPoolConfig(db), { schema: db.schema });
}
