// A write transaction on a driver connection of its own, with no Prisma
// client: an import plans and writes a million rows through it, where Prisma's
// per-query compilation and row mapping cost more than the database's work.
// Reads and writes share the one connection, so the planner sees exactly the
// state its writes build on.
import type { Database as SqliteDb, Statement } from "better-sqlite3";
import type { Client } from "pg";
import type { Database } from "../config.js";
import { pgPoolConfig } from "./adapters.js";
import { pgReader, sqliteReader, type RawReader } from "./raw.js";
import { holdingWrites } from "./write-gate.js";

export interface DriverTx extends RawReader {
  /** runs a statement with bound values (already in the driver's forms: see driver-write.ts); the number of rows it changed */
  run(sql: string, params: readonly unknown[]): Promise<number>;
}

const MAX_STATEMENTS = 256;

function sqliteTx(conn: SqliteDb): DriverTx {
  const reader = sqliteReader(conn);
  const cache = new Map<string, Statement>();
  return {
    ...reader,
    run(sql, params) {
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= MAX_STATEMENTS) cache.clear();
        cache.set(sql, (stmt = conn.prepare(sql)));
      }
      return Promise.resolve(stmt.run(...params).changes);
    },
  };
}

function pgTx(client: Client, schema: string): DriverTx {
  const reader = pgReader(client as never, schema);
  // a statement repeated (every full batch of a table) is parsed and planned once per connection
  const names = new Map<string, string>();
  return {
    ...reader,
    async run(text, values) {
      let name = names.get(text);
      if (!name && names.size < MAX_STATEMENTS) names.set(text, (name = `stowage_${names.size}`));
      const res = await client.query({ name, text, values: values as unknown[] });
      return res.rowCount ?? 0;
    },
  };
}

/**
 * Runs `fn` in one transaction on a connection of its own: committed when it
 * resolves, rolled back when it throws. On SQLite the write lock is taken
 * first (BEGIN IMMEDIATE): a transaction that reads and then writes could
 * otherwise meet another writer and fail instead of waiting for it; and the
 * process's own writes wait for it meanwhile (write-gate.ts).
 */
export async function withDriverTransaction<T>(database: Database, fn: (tx: DriverTx) => Promise<T>): Promise<T> {
  if (database.provider === "sqlite") {
    const file = database.file;
    return holdingWrites(file, () => sqliteTransaction(file, fn));
  }
  const { default: pg } = await import("pg");
  const client = new pg.Client(pgPoolConfig(database));
  await client.connect();
  try {
    await client.query("BEGIN");
    try {
      const result = await fn(pgTx(client, database.schema));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  } finally {
    await client.end();
  }
}

async function sqliteTransaction<T>(file: string, fn: (tx: DriverTx) => Promise<T>): Promise<T> {
  const { default: Sqlite } = await import("better-sqlite3");
  const conn = new Sqlite(file, { timeout: 30_000 });
  try {
    conn.pragma("foreign_keys = ON");
    conn.pragma("synchronous = NORMAL");
    conn.exec("BEGIN IMMEDIATE");
    try {
      const result = await fn(sqliteTx(conn));
      conn.exec("COMMIT");
      return result;
    } catch (err) {
      if (conn.inTransaction) conn.exec("ROLLBACK");
      throw err;
    }
  } finally {
    conn.close();
  }
}
