// A write transaction on a driver connection of its own, with no Prisma
// client: an import plans and writes a million rows through it, where Prisma's
// per-query compilation and row mapping cost more than the database's work.
// Either way the reads see what was committed before the import, not its own
// queued writes, so they never wait for them: on PostgreSQL they go to a second
// connection's snapshot (pgTx), on SQLite the writes go to a thread of their
// own and the reads to a connection of this one (beforeImportReader).
import { join } from "node:path";
import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { Client } from "pg";
import type { Database } from "../config.js";
import { pgPoolConfig } from "./pg-config.js";
import { projectRoot } from "./migrations.js";
import { pgReader, sqliteReader, type RawReader } from "./raw.js";
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

// from the project root, not this module's URL: a worker process runs this module bundled elsewhere (jobs/worker-bundle.ts)
const SQLITE_WORKER = join(projectRoot, "src", "db", "sqlite-worker.mjs");

/** Statements (of up to 200 rows) the SQLite thread may be behind before the import waits for it: bounds what waits in memory. */
const MAX_OUTSTANDING = 32;

/** The import's SQLite connection, on its own thread (sqlite-worker.mjs). */
class SqliteThread {
  private worker: Worker;
  /** the file it opened, as the file system knew it then: a file replaced since is another database */
  readonly identity: string | null;
  private next = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  /** a queued statement that failed: the transaction can only roll back now */
  failed: Error | null = null;

  constructor(readonly file: string) {
    this.identity = fileIdentity(file);
    this.worker = new Worker(SQLITE_WORKER, {
      workerData: { file, timeout: SQLITE_BUSY_TIMEOUT_MS },
      // plain JavaScript: none of the process's loaders (tsx's took 0.2 s of every import's start)
      execArgv: [],
      // its garbage is the statements it was sent, dead once run: a small young generation holds it
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const asError = (e: { message: string; code?: string }) => Object.assign(new Error(e.message), { code: e.code });
    this.worker.on("message", (m: { id: number; drained?: number; result?: unknown; error?: { message: string; code?: string } }) => {
      if (m.drained !== undefined) {
        if (m.error) this.failed ??= asError(m.error);
        this.outstanding -= m.drained;
        if (this.outstanding <= MAX_OUTSTANDING / 2) this.room?.resolve();
        return;
      }
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!w) return;
      if (m.error) w.reject(asError(m.error));
      else w.resolve(m.result);
    });
    const fail = (err: Error) => {
      this.dead ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      // an import waiting for room would otherwise wait for ever
      this.room?.reject(err);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the SQLite thread exited (${code})`)));
  }

  ask<T>(op: string, sql = "", params: readonly unknown[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, sql, params });
    });
  }

  /** why the transaction cannot commit any more: a queued statement failed, or the thread is gone */
  get broken(): Error | null {
    return this.failed ?? this.dead;
  }

  private outstanding = 0;
  private room: { resolve: () => void; reject: (err: Error) => void } | null = null;

  /** Sent without waiting for it (a failure surfaces at the next ask); waits only when the thread is that far behind. */
  tell(sql: string, params: readonly unknown[]): Promise<void> | void {
    if (this.broken) throw this.broken;
    this.worker.postMessage({ id: 0, op: "queue", sql, params });
    if (++this.outstanding < MAX_OUTSTANDING) return;
    return new Promise<void>((resolve, reject) => {
      const done = () => (this.room = null);
      this.room = { resolve: () => (done(), resolve()), reject: (err) => (done(), reject(err)) };
    });
  }

  /** Whether it can run another transaction on `file`: alive, nothing failed, and the file is the one it opened. */
  reusableFor(file: string): boolean {
    return !this.broken && this.file === file && this.identity !== null && fileIdentity(file) === this.identity;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** An idle thread does not keep the process alive. */
  idle(idle: boolean): void {
    if (idle) this.worker.unref();
    else this.worker.ref();
  }

  async close(): Promise<void> {
    if (!this.dead) await this.ask("close").catch(() => {});
    await this.worker.terminate();
  }
}

function fileIdentity(file: string): string | null {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * The thread of the last import that committed, kept for the next one: a
 * thread takes 50–140 ms to start here (an isolate, better-sqlite3, the
 * file opened) — most of a small import — and its code runs cold in a new
 * one. One at most, whatever the file (a test run opens hundreds), and only
 * for IDLE_THREAD_MS: an idle connection holds no lock, but a thread holds
 * memory.
 */
const IDLE_THREAD_MS = 60_000;
let kept: { thread: SqliteThread; timer: NodeJS.Timeout } | null = null;

/** The thread kept for the next import, if any (for tests and diagnostics). */
export function idleSqliteThread(): { file: string; threadId: number } | null {
  return kept && { file: kept.thread.file, threadId: kept.thread.threadId };
}

function takeThread(file: string): SqliteThread {
  const k = kept;
  if (k) {
    kept = null;
    clearTimeout(k.timer);
    if (k.thread.reusableFor(file)) {
      k.thread.idle(false);
      return k.thread;
    }
    void k.thread.close();
  }
  return new SqliteThread(file);
}

/** After a commit (or before anything began): the thread waits for the next import, or is closed. */
async function keepIdle(thread: SqliteThread): Promise<void> {
  if (!thread.reusableFor(thread.file)) return thread.close();
  const before = kept;
  thread.idle(true);
  kept = {
    thread,
    timer: setTimeout(() => {
      if (kept?.thread !== thread) return;
      kept = null;
      void thread.close();
    }, IDLE_THREAD_MS).unref(),
  };
  if (before) {
    clearTimeout(before.timer);
    await before.thread.close();
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
