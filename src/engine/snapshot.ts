import type { Database } from "../config.js";
import { openDb, type Db } from "../db/client.js";
import { registerReader } from "../db/raw.js";
import { withDriverSnapshot } from "./driver-snapshot.js";

export { withDriverSnapshot } from "./driver-snapshot.js";

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
 * The snapshot an export of this format runs in: OpenMemory's writer reads
 * through Prisma; the native formats read only through the driver, so they
 * need no Prisma client of their own (a second query engine per export).
 */
export function exportSnapshot(format: string): typeof withSnapshot {
  return format === "OPENMEMORY" ? withSnapshot : withDriverSnapshot;
}
