// A read snapshot with no Prisma client, in a module of its own: a worker
// process imports this without loading Prisma's client and adapters.
import type { Database } from "../config.js";
import type { Db } from "../db/client.js";
import { pgPoolConfig } from "../db/pg-config.js";
import { pgReader, registerReader, sqliteReader } from "../db/raw.js";

/**
 * A read snapshot on a driver connection of its own, with no Prisma client:
 * for work that reads only through db/raw.ts (native ZIP and JSONL exports),
 * in a process that should not start Prisma's query engine for it (its
 * compiler and a client per snapshot are most of a server's memory before the
 * first record). The client handed to `fn` has a reader and nothing else:
 * any use of Prisma through it throws.
 */
export async function withDriverSnapshot<T>(database: Database, fn: (db: Db) => Promise<T>): Promise<T> {
  const noPrisma = new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === "then") return undefined; // not a thenable
        throw new Error(`withDriverSnapshot has no Prisma client (${String(prop)}): use withSnapshot`);
      },
    },
  ) as Db;
  if (database.provider === "sqlite") {
    const { default: Sqlite } = await import("better-sqlite3");
    const conn = new Sqlite(database.file, { timeout: 30_000 });
    try {
      conn.pragma("query_only = ON");
      conn.exec("BEGIN");
      // a deferred transaction takes its snapshot at the first read
      conn.prepare("SELECT count(*) FROM sqlite_master").get();
      const reader = sqliteReader(conn);
      registerReader(noPrisma, async () => reader);
      const result = await fn(noPrisma);
      conn.exec("COMMIT");
      return result;
    } finally {
      conn.close();
    }
  }
  const { default: pg } = await import("pg");
  const client = new pg.Client(pgPoolConfig(database));
  await client.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const reader = pgReader(client as never, database.schema);
    registerReader(noPrisma, async () => reader);
    const result = await fn(noPrisma);
    await client.query("COMMIT");
    return result;
  } finally {
    await client.end();
  }
}
