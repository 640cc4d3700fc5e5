// A write transaction on a driver connection of its own, with no Prisma
// client: an import plans and writes a million rows through it, where Prisma's
// per-query compilation and row mapping cost more than the database's work.
// Either way the reads see what was committed before the import, not its own
// queued writes, so they never wait for them: on PostgreSQL they go to a second
// connection's snapshot (pgTx), on SQLite the writes go to a thread of their
// own and the reads to a connection of this one (beforeImportReader).
import type { Client } from "pg";
import type { Database } from "../config.js";
import { pgPoolConfig } from "./pg-config.js";
import { pgReader, sqliteReader, type RawReader } from "./raw.js";
import { keepIdle, takeThread, type SqliteThread } from "./sqlite-thread.js";
import { holdingWrites, SQLITE_BUSY_TIMEOUT_MS } from "./write-gate.js";

export interface DriverTx extends RawReader {
  /**
   * Runs a statement with bound values (already in the driver's forms: see
   * driver-write.ts), in order with the others, without waiting for it (on
   * SQLite a thread of its own writes; on PostgreSQL the connection's queue;
   * the reads do not see these writes: see lookups.ts). A failure fails the
   * next read, write or the commit, so the transaction never commits past it.
   */
  queue(sql: string, params: readonly unknown[]): Promise<void> | void;
}

const MAX_STATEMENTS = 256;

/**
 * Statements PostgreSQL may be behind before the import waits for it. They go
 * to the server one after another (pg 9 drops the client's own queue, so the
 * chain is ours), but the planner does not wait for each: the server writes
 * while this process plans the next records (two cores: one each).
 */
const PG_IN_FLIGHT = 8;

/**
 * The import's writes go to `client`, in its transaction; the planner's reads
 * to `readClient`, a snapshot of what was committed as the import began
 * (which is all they ask about: lookups.ts), so that a read never waits for
 * the inserts queued before it — on one connection it would, and the planner
 * would stop at every page until PostgreSQL had written the last one.
 */
function pgTx(client: Client, readClient: Client, schema: string): DriverTx & { settle(): Promise<void> } {
  const reader = pgReader(readClient as never, schema);
  // a statement repeated (every full batch of a table) is parsed and planned once per connection
  const names = new Map<string, string>();
  /** settles when the last queued statement has: each waits for the one before it */
  let tail: Promise<void> = Promise.resolve();
  /** the last statements queued, oldest first (they finish in that order): the oldest is what waiting for room waits on */
  const inFlight: Promise<void>[] = [];
  /** the first queued statement that failed: PostgreSQL aborted the transaction there */
  let failed: unknown = null;
  const check = () => {
    if (failed) throw failed;
  };
  const settle = async () => {
    await tail;
    check();
  };
  return {
    ...reader,
    async rows(sql, params) {
      // nothing more to plan once an insert has failed
      check();
      return reader.rows(sql, params);
    },
    queue(text, values) {
      check();
      let name = names.get(text);
      if (!name && names.size < MAX_STATEMENTS) names.set(text, (name = `stowage_${names.size}`));
      tail = tail
        // after a failure the server refuses everything until ROLLBACK: nothing more to send
        .then(() => (failed ? undefined : client.query({ name, text, values: values as unknown[] })))
        .then(
          () => undefined,
          (err: unknown) => void (failed ??= err),
        );
      inFlight.push(tail);
      if (inFlight.length >= PG_IN_FLIGHT) return inFlight.shift()!.then(check);
    },
    /** every queued statement done, or the first failure thrown: before COMMIT, which on an aborted transaction only rolls back */
    settle,
  };
}

/**
 * Runs `fn` in one transaction on a connection of its own: committed when it
 * resolves, rolled back when it throws. On SQLite the write lock is taken
 * first (BEGIN IMMEDIATE): a transaction that reads and then writes could
 * otherwise meet another writer and fail instead of waiting for it; and the
 * process's own writes wait for it meanwhile (write-gate.ts).
 *
 * With `after`, the connection (on SQLite its thread) is opened at once and
 * the transaction begins once `after` resolves: an import reads its file
 * meanwhile, before it holds any lock. When `after` rejects, nothing begins.
 */
export async function withDriverTransaction<T, A = void>(database: Database, fn: (tx: DriverTx, before: A) => Promise<T>, after?: Promise<A>): Promise<T> {
  const ready = after ?? (Promise.resolve() as Promise<A>);
  // awaited below, after the connection is made: its failure is not unhandled meanwhile
  ready.catch(() => {});
  if (database.provider === "sqlite") {
    const file = database.file;
    const thread = takeThread(file);
    let before: A;
    try {
      before = await ready;
    } catch (err) {
      // nothing began on it: as good as new
      await keepIdle(thread);
      throw err;
    }
    return holdingWrites(file, () => sqliteTransaction(file, thread, (tx) => fn(tx, before)));
  }
  const { default: pg } = await import("pg");
  const client = new pg.Client(pgPoolConfig(database));
  const readClient = new pg.Client(pgPoolConfig(database));
  const connected = Promise.all([client.connect(), readClient.connect()]);
  try {
    await connected;
    const before = await ready;
    await client.query("BEGIN");
    // the snapshot is taken by the first statement after BEGIN, once the import's transaction has begun
    await readClient.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await readClient.query("SELECT 1");
    const tx = pgTx(client, readClient, database.schema);
    try {
      const result = await fn(tx, before);
      await tx.settle();
      await client.query("COMMIT");
      return result;
    } catch (err) {
      // not while a queued insert still runs: one query at a time on the client
      await tx.settle().catch(() => {});
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  } finally {
    // ending the reading connection ends its snapshot
    await Promise.allSettled([client.end(), readClient.end()]);
  }
}

/**
 * The planner's reads run on a read connection of the main thread, not the
 * writing thread: answered at once, not after the inserts queued ahead of
 * them. It reads what was committed when the write lock was taken — nobody
 * else can commit while the import holds it — which is all the planner asks
 * about (lookups.ts).
 */
function beforeImportReader(Sqlite: typeof import("better-sqlite3"), file: string, thread: SqliteThread) {
  const conn = new Sqlite(file, { readonly: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  conn.exec("BEGIN");
  // a deferred transaction takes its snapshot at the first read
  conn.prepare("SELECT count(*) FROM sqlite_master").get();
  const reader = sqliteReader(conn);
  return {
    rows: (sql: string, params: readonly unknown[]) => (thread.broken ? Promise.reject(thread.broken) : reader.rows(sql, params)),
    close: () => conn.close(),
  };
}

async function sqliteTransaction<T>(file: string, thread: SqliteThread, fn: (tx: DriverTx) => Promise<T>): Promise<T> {
  let reader: ReturnType<typeof beforeImportReader> | undefined;
  let committed = false;
  try {
    const { default: Sqlite } = await import("better-sqlite3");
    await thread.ask("exec", "BEGIN IMMEDIATE");
    reader = beforeImportReader(Sqlite, file, thread);
    const tx: DriverTx = {
      provider: "sqlite",
      rows: reader.rows,
      queue: (sql, params) => thread.tell(sql, params),
    };
    try {
      const result = await fn(tx);
      await thread.ask("exec", "COMMIT");
      committed = true;
      return result;
    } catch (err) {
      await thread.ask("rollback").catch(() => {});
      throw err;
    }
  } finally {
    reader?.close();
    // a thread whose transaction failed may still hold what failed: never another import's
    if (committed) await keepIdle(thread);
    else await thread.close();
  }
}
