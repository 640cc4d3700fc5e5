import type { Database } from "../config.js";
import { openDb, type Db } from "../db/client.js";
import { pgPoolConfig } from "../db/adapters.js";
import { pgReader, registerReader, sqliteReader } from "../db/raw.js";

const DAY_MS = 24 * 3600 * 1000;

/**
 * Runs `fn` on one consistent snapshot of the database: a read transaction on
 * a connection of its own (on SQLite a shared connection would pull every
 * other query of the process into the transaction), REPEATABLE READ on
 * PostgreSQL. No timeout shorter than the work. Driver-level reads through
 * the client handed to `fn` (db/raw.ts) run on the transaction's connection,
 * inside the same snapshot.
 */
export async function withSnapshot<T>(database: Database, fn: (db: Db) => Promise<T>): Promise<T> {
  const handle = await openDb(database);
  try {
    return await handle.db.$transaction(
      (tx) => {
        // the transaction holds the handle's connection now (its only user)
        const reader = handle.transactionReader();
        registerReader(tx, async () => reader);
        return fn(tx as unknown as Db);
      },
      {
        // the SQLite client's types know only Serializable; the PostgreSQL client takes this
        isolationLevel: (database.provider === "postgresql" ? "RepeatableRead" : undefined) as "Serializable" | undefined,
        timeout: DAY_MS,
        maxWait: 60_000,
      },
    );
  } finally {
    await handle.close();
  }
}

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

/**
 * The snapshot an export of this format runs in: OpenMemory's writer reads
 * through Prisma; the native formats read only through the driver, so they
 * need no Prisma client of their own (a second query engine per export).
 */
export function exportSnapshot(format: string): typeof withSnapshot {
  return format === "OPENMEMORY" ? withSnapshot : withDriverSnapshot;
}
