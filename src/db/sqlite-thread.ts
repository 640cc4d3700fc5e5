// The SQLite connection an import writes through, on a thread of its own
// (sqlite-worker.mjs): its inserts run beside the planning on the main thread.
// The thread of an import that committed is kept for the next one.
import { statSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { projectRoot } from "./migrations.js";
import { SQLITE_BUSY_TIMEOUT_MS } from "./write-gate.js";

// from the project root, not this module's URL: a worker process runs this module bundled elsewhere (jobs/worker-bundle.ts)
const SQLITE_WORKER = join(projectRoot, "src", "db", "sqlite-worker.mjs");

/** Statements (of up to 200 rows) the SQLite thread may be behind before the import waits for it: bounds what waits in memory. */
const MAX_OUTSTANDING = 32;

/** The import's SQLite connection, on its own thread (sqlite-worker.mjs). */
export class SqliteThread {
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
 * memory (~25 MiB of RSS after a 10k import).
 */
const IDLE_THREAD_MS = 60_000;
let kept: { thread: SqliteThread; timer: NodeJS.Timeout } | null = null;

/** The thread kept for the next import, if any (for tests and diagnostics). */
export function idleSqliteThread(): { file: string; threadId: number } | null {
  return kept && { file: kept.thread.file, threadId: kept.thread.threadId };
}

export function takeThread(file: string): SqliteThread {
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
export async function keepIdle(thread: SqliteThread): Promise<void> {
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
