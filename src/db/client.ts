import { PrismaClient as SqliteClient } from "../generated/sqlite/client.js";
import { PrismaClient as PostgresClient } from "../generated/postgresql/client.js";
import type { Database } from "../config.js";
import { adapterFactory } from "./adapters.js";

// Both generated clients expose the same models; code is written against one type.
export type Db = SqliteClient;

export interface DbOptions {
  /** called with every SQL statement Prisma sends (used to count queries) */
  onQuery?: (sql: string) => void;
}

export interface DbHandle {
  db: Db;
  database: Database;
  close(): Promise<void>;
}

export async function openDb(database: Database, options: DbOptions = {}): Promise<DbHandle> {
  const log = options.onQuery ? [{ emit: "event" as const, level: "query" as const }] : [];
  const adapter = adapterFactory(database);
  const db = (
    database.provider === "sqlite"
      ? new SqliteClient({ adapter: adapter as never, log })
      : (new PostgresClient({ adapter: adapter as never, log }) as unknown as SqliteClient)
  ) as Db;
  if (options.onQuery) {
    const onQuery = options.onQuery;
    (db as unknown as { $on(e: "query", cb: (ev: { query: string }) => void): void }).$on("query", (ev) => onQuery(ev.query));
  }
  if (database.provider === "sqlite") {
    // WAL lets readers (an export's snapshot) run beside a writer.
    await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await db.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
    await db.$executeRawUnsafe("PRAGMA foreign_keys = ON");
  }
  return { db, database, close: () => db.$disconnect() };
}
