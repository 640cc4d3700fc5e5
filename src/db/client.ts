import type { PrismaClient as SqliteClient } from "../generated/sqlite/client.js";
import type { Database as SqliteDb } from "better-sqlite3";
import type { Pool, PoolClient } from "pg";
import type { Database } from "../config.js";
import { adapterFactory, pgPoolConfig } from "./adapters.js";
import { pgReader, registerReader, sqliteReader, type RawReader } from "./raw.js";
import { lockFree, SQLITE_BUSY_TIMEOUT_MS, WRITE_OPERATIONS, writesFree } from "./write-gate.js";

// Both generated clients expose the same models; code is written against one type.
export type Db = SqliteClient;

export interface DbOptions {
  /** called with every SQL statement Prisma sends (used to count queries) */
  onQuery?: (sql: string) => void;
}

export interface DbHandle {
  db: Db;
  database: Database;
  /** the driver-level reader of the connection the client's next interactive transaction holds */
  transactionReader(): RawReader;
  close(): Promise<void>;
}

type AdapterFactory = ReturnType<typeof adapterFactory>;

/**
 * The driver connection under a client, for raw reads beside it: on SQLite the
 * one better-sqlite3 connection the adapter opens (its transactions run on it
 * too), on PostgreSQL a pool of our own that remembers the connection it last
 * handed out (an interactive transaction's).
 */
async function trackedAdapter(
  database: Database,
): Promise<{ factory: AdapterFactory; sqlite: () => SqliteDb; sqliteIfOpen: () => SqliteDb | undefined; pool?: Pool; lastClient: () => PoolClient }> {
  if (database.provider === "sqlite") {
    const inner = adapterFactory(database);
    let conn: SqliteDb | undefined;
    const factory = {
      provider: inner.provider,
      adapterName: inner.adapterName,
      connect: async () => {
        const adapter = await inner.connect();
        conn = (adapter as unknown as { client: SqliteDb }).client;
        return adapter;
      },
      connectToShadowDb: () => inner.connectToShadowDb(),
    } as unknown as AdapterFactory;
    return {
      factory,
      sqlite: () => {
        if (!conn) throw new Error("the SQLite connection is not open yet");
        return conn;
      },
      sqliteIfOpen: () => conn,
      lastClient: () => {
        throw new Error("not PostgreSQL");
      },
    };
  }
  const [{ default: pg }, { PrismaPg }] = await Promise.all([import("pg"), import("@prisma/adapter-pg")]);
  let last: PoolClient | undefined;
  class TrackingPool extends pg.Pool {
    override connect(): Promise<PoolClient>;
    override connect(cb: (err: Error | undefined, client: PoolClient | undefined, done: (release?: unknown) => void) => void): void;
    override connect(cb?: (err: Error | undefined, client: PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<PoolClient> | void {
      if (cb) return super.connect((err, client, done) => ((last = client), cb(err, client, done)));
      return super.connect().then((c) => (last = c));
    }
  }
  const pool = new TrackingPool(pgPoolConfig(database));
  const factory = new PrismaPg(pool, { schema: database.schema, disposeExternalPool: true }) as unknown as AdapterFactory;
  return {
    factory,
    pool,
    sqlite: () => {
      throw new Error("not SQLite");
    },
    sqliteIfOpen: () => undefined,
    lastClient: () => {
      if (!last) throw new Error("no PostgreSQL connection checked out yet");
      return last;
    },
  };
}

/**
 * The client whose writes wait, without holding the event loop, for an import
 * of this process that holds the file, then for any other process's write
 * (write-gate.ts). Inside the client's own transaction the lock may be its
 * own: no probe there.
 */
function writeGated(base: Db, file: string, conn: () => SqliteDb | undefined, probe: SqliteDb): Db {
  return base.$extends({
    query: {
      async $allOperations({ operation, args, query }) {
        if (WRITE_OPERATIONS.has(operation)) {
          await writesFree(file);
          if (!conn()?.inTransaction) await lockFree(probe, SQLITE_BUSY_TIMEOUT_MS);
        }
        return query(args);
      },
    },
  }) as unknown as Db;
}

export async function openDb(database: Database, options: DbOptions = {}): Promise<DbHandle> {
  const log = options.onQuery ? [{ emit: "event" as const, level: "query" as const }] : [];
  const tracked = await trackedAdapter(database);
  // only the provider's own generated client is loaded: each brings its query compiler
  const base = (
    database.provider === "sqlite"
      ? new (await import("../generated/sqlite/client.js")).PrismaClient({ adapter: tracked.factory as never, log })
      : (new (await import("../generated/postgresql/client.js")).PrismaClient({ adapter: tracked.factory as never, log }) as unknown as SqliteClient)
  ) as Db;
  if (options.onQuery) {
    const onQuery = options.onQuery;
    (base as unknown as { $on(e: "query", cb: (ev: { query: string }) => void): void }).$on("query", (ev) => onQuery(ev.query));
  }
  // no busy timeout: it asks whether the lock is free, and is never what waits for it
  const probe = database.provider === "sqlite" ? new (await import("better-sqlite3")).default(database.file, { timeout: 0 }) : undefined;
  const db = probe && database.provider === "sqlite" ? writeGated(base, database.file, tracked.sqliteIfOpen, probe) : base;
  if (database.provider === "sqlite") {
    // WAL lets readers (an export's snapshot) run beside a writer. Not through the gate: they take no write lock.
    await base.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await base.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
    await base.$executeRawUnsafe("PRAGMA foreign_keys = ON");
    registerReader(db, async () => sqliteReader(tracked.sqlite()));
  } else {
    const pool = tracked.pool!;
    registerReader(db, async () => pgReader(pool as never, database.schema));
  }
  return {
    db,
    database,
    transactionReader: () => (database.provider === "sqlite" ? sqliteReader(tracked.sqlite()) : pgReader(tracked.lastClient() as never, database.schema)),
    close: async () => {
      await base.$disconnect();
      probe?.close();
    },
  };
}
