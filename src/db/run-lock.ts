// PostgreSQL advisory locks as proof that a job's process still runs it. The
// process holds the job's lock on a connection of its own for as long as it
// runs the job, and PostgreSQL drops the lock the moment that connection goes
// (the process exited or crashed, its machine or container is gone), so a
// server that starts can ask the database, wherever the runner is: a pid and
// a host name can only be asked on the runner's own machine.
import type { Client } from "pg";
import type { Database } from "../config.js";
import type { Db } from "./client.js";
import { pgPoolConfig } from "./pg-config.js";

type Pg = Extract<Database, { provider: "postgresql" }>;

// the whole database shares one space of 64-bit keys: a name hashed into it, namespaced by its caller
const KEY = "hashtextextended($1, 0)";

export interface RunLock {
  /** Ends the lock's connection, and with it the lock. */
  release(): Promise<void>;
}

/** A connection of its own holding `name`'s lock, or null (ended) when another session holds it. */
async function lockedClient(database: Pg, name: string): Promise<Client | null> {
  const { default: pg } = await import("pg");
  const client: Client = new pg.Client(pgPoolConfig(database));
  // a connection lost mid-job is taken care of by its 'end' (takeRunLock): no crash for it
  client.on("error", () => {});
  let taken = false;
  try {
    await client.connect();
    const { rows } = await client.query<{ taken: boolean }>(`SELECT pg_try_advisory_lock(${KEY}) AS taken`, [name]);
    taken = rows[0].taken;
  } finally {
    if (!taken) await client.end().catch(() => {});
  }
  return taken ? client : null;
}

/** how long a lock lost with its connection waits before each try to take it back (doubling, up to the last) */
const RETAKE_DELAYS_MS = [50, 100, 200, 400, 800, 1600, 3200, 5000];

/**
 * Takes `name`'s lock on a connection held until release(); null when another
 * session holds it (another process runs that job). A connection lost before
 * then (a restart of PostgreSQL's backend, a network blip, a proxy's idle
 * timeout) would leave a running job without its proof: the lock is taken
 * again on a new connection, so a server starting later leaves the job alone.
 * (One starting in the gap may still fail it; the job's commit then marks it
 * SUCCEEDED, so its history ends true.)
 */
export async function takeRunLock(database: Pg, name: string): Promise<RunLock | null> {
  const first = await lockedClient(database, name);
  if (!first) return null;
  let current: Client | null = first;
  let released = false;
  let retaking: Promise<void> = Promise.resolve();
  // release() cuts a retake's wait short
  let wake = () => {};
  const hold = (client: Client) => {
    current = client;
    client.once("end", () => {
      if (released || current !== client) return;
      current = null;
      retaking = retake();
    });
  };
  const retake = async () => {
    for (let i = 0; !released; i++) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, RETAKE_DELAYS_MS[Math.min(i, RETAKE_DELAYS_MS.length - 1)]);
        // the job keeps its process alive, not the wait for its proof
        timer.unref();
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (released) return;
      // another session holds it only for a moment (a starting server's check) or not at all: keep trying
      const client = await lockedClient(database, name).catch(() => null);
      if (!client) continue;
      if (released) return void (await client.end().catch(() => {}));
      return hold(client);
    }
  };
  hold(first);
  return {
    async release() {
      released = true;
      wake();
      await retaking;
      await (current as Client | null)?.end().catch(() => {});
      current = null;
    },
  };
}

/**
 * Runs `fn` holding `name`'s lock on PostgreSQL (on SQLite, whose runners are
 * asked by process, no lock); null, without running it, when another session
 * holds the lock.
 */
export async function whileHoldingRunLock<T>(database: Database, name: string, fn: () => Promise<T>): Promise<T | null> {
  if (database.provider === "sqlite") return fn();
  const lock = await takeRunLock(database, name);
  if (!lock) return null;
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * Runs `fn` in one transaction of `db` with those of `ids` whose lock
 * (`lockName(id)`) nobody holds — their jobs' processes are gone — holding
 * those locks until it ends, so no runner can take one back meanwhile.
 */
export function withFreeRunLocks<T>(db: Db, ids: readonly string[], lockName: (id: string) => string, fn: (tx: Db, free: string[]) => Promise<T>): Promise<T> {
  return db.$transaction(async (tx) => {
    const free: string[] = [];
    for (const id of ids) {
      const [row] = await tx.$queryRawUnsafe<{ free: boolean }[]>(`SELECT pg_try_advisory_xact_lock(${KEY}) AS free`, lockName(id));
      if (row.free) free.push(id);
    }
    return fn(tx as Db, free);
  });
}
