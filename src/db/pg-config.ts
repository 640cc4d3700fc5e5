// How stowage connects to PostgreSQL with pg, for Prisma's adapter and for the
// driver connections of exports and imports (which load no Prisma adapter).
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
