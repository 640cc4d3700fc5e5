// SQLite has one writer at a time, and better-sqlite3 waits for the write lock
// synchronously, holding the event loop while it waits. A write of the
// server's own client that met an import's lock would stop the whole process
// — the import with it, so the lock never came free — for the busy timeout,
// and then fail. So in this process, writes wait for a running import here,
// asynchronously, and go once it has committed or rolled back. An import in
// a worker process of the server's asks the server to hold its writes the
// same way (setRemoteGate). Another process's write (a CLI import beside the
// server) is waited for the same way: its lock is probed, never waited on
// inside SQLite (lockFree).
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Database as SqliteDb } from "better-sqlite3";

/** How long a write waits for SQLite's write lock before it fails. */
export const SQLITE_BUSY_TIMEOUT_MS = 30_000;

const running = new Map<string, Promise<unknown>>();

type Gate = <T>(file: string, fn: () => Promise<T>) => Promise<T>;
let remote: Gate | undefined;

/** In a worker process: the writes to hold back are another process's, asked through `gate`. */
export function setRemoteGate(gate: Gate): void {
  remote = gate;
}

/** Runs `fn` (a write transaction on the database file) while this process's other writes wait. */
export function holdingWrites<T>(file: string, fn: () => Promise<T>): Promise<T> {
  if (remote) return remote(file, fn);
  const key = resolve(file);
  const before = running.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  running.set(key, settled);
  void settled.then(() => {
    if (running.get(key) === settled) running.delete(key);
  });
  return run;
}

/** True while a write transaction of this process (or of its import worker) holds the database file. */
export function writesHeld(file: string): boolean {
  return running.has(resolve(file));
}

/** Resolves once no write transaction of this process holds the database file (at once when none does). */
export async function writesFree(file: string): Promise<void> {
  const key = resolve(file);
  for (let p = running.get(key); p; p = running.get(key)) await p;
}

const LOCK_POLL_MS = 25;

/**
 * Resolves once no other connection holds the write lock of `probe`'s file
 * (`probe`: a connection of its own with no busy timeout), asking every
 * LOCK_POLL_MS; fails as a busy write would once it has waited `timeoutMs`.
 */
export async function lockFree(probe: SqliteDb, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      probe.exec("BEGIN IMMEDIATE");
      probe.exec("ROLLBACK");
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    }
    if (Date.now() >= deadline) throw new Error(`database is locked: another process has held SQLite's write lock for ${Math.round(timeoutMs / 1000)} s (an import from the CLI?)`);
    await sleep(LOCK_POLL_MS);
  }
}

/** Prisma operations that write. */
export const WRITE_OPERATIONS = new Set([
  "create",
  "createMany",
  "createManyAndReturn",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "upsert",
  "delete",
  "deleteMany",
  "$executeRaw",
  "$executeRawUnsafe",
]);
