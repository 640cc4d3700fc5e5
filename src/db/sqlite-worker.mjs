// The write connection of an import's SQLite transaction, on a thread of its
// own (driver-tx.ts): its inserts run beside the planning on the main thread
// instead of after it; the planner's reads go to a connection of the main
// thread. Plain JavaScript, so the thread needs no TypeScript loader. Queued
// statements run in order, between messages. A queued statement that fails is
// told at once and thrown at every message after it, so the import fails
// before it commits.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.file, { timeout: workerData.timeout });
db.pragma("foreign_keys = ON");
db.pragma("synchronous = NORMAL");
// the planner reads on a second connection while this one writes: in a rollback journal the
// COMMIT would wait for that reader for ever (the server's client sets WAL too; a file only
// migrated has not had it yet). It stays set in the file.
db.pragma("journal_mode = WAL");

const MAX_STATEMENTS = 256;
const statements = new Map();
function prepared(sql) {
  let stmt = statements.get(sql);
  if (!stmt) {
    if (statements.size >= MAX_STATEMENTS) statements.clear();
    stmt = db.prepare(sql);
    statements.set(sql, stmt);
  }
  return stmt;
}

// a Buffer arrives as a plain Uint8Array; better-sqlite3 binds Buffers
const bindable = (params) => params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v));

let failed = null;
let queued = [];
let head = 0;
let scheduled = false;

// Statements run a few milliseconds at a time, so a message (the commit, a
// rollback) waits for at most one slice before it is seen.
const SLICE_MS = 4;

function runQueued(all) {
  const start = performance.now();
  let ran = 0;
  const known = failed;
  while (head < queued.length && (all || performance.now() - start < SLICE_MS)) {
    const m = queued[head++];
    ran++;
    if (failed) continue;
    try {
      prepared(m.sql).run(...bindable(m.params));
    } catch (err) {
      failed = err;
    }
  }
  // what ran is let go at once: the queue is rarely empty while an import feeds it
  queued.splice(0, head);
  head = 0;
  // a failure is told at once: the import stops before it plans any further
  if (ran || failed !== known) parentPort.postMessage({ id: 0, drained: ran, error: failed && failed !== known ? { message: failed.message, code: failed.code } : undefined });
}

function drainSoon() {
  scheduled = false;
  runQueued(false);
  if (head < queued.length) schedule();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  setImmediate(drainSoon);
}

parentPort.on("message", (m) => {
  if (m.op === "queue") {
    queued.push(m);
    schedule();
    return;
  }
  runQueued(true);
  try {
    if (failed && m.op !== "rollback") throw failed;
    switch (m.op) {
      case "exec":
        db.exec(m.sql);
        return parentPort.postMessage({ id: m.id, result: null });
      case "rollback":
        if (db.inTransaction) db.exec("ROLLBACK");
        return parentPort.postMessage({ id: m.id, result: null });
      case "close":
        db.close();
        return parentPort.postMessage({ id: m.id, result: null });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: err.message, code: err.code } });
  }
});
