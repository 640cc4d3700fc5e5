// One SQLite connection on a thread of its own, for an import's transaction
// (driver-tx.ts): its inserts run beside the planning on the main thread
// instead of after it. Plain JavaScript, so the thread needs no TypeScript
// loader. Queued statements run in order, between messages; a read is
// answered before the statements queued ahead of it (the planner asks only
// about what was there before the import: see lookups.ts), anything else after
// them. A queued statement that fails is kept and thrown at the next message
// that answers, so the import fails before it commits.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.file, { timeout: workerData.timeout });
db.pragma("foreign_keys = ON");
db.pragma("synchronous = NORMAL");

const MAX_STATEMENTS = 256;
const statements = new Map();
function prepared(sql, raw) {
  const cacheKey = (raw ? "r" : "w") + sql;
  let stmt = statements.get(cacheKey);
  if (!stmt) {
    if (statements.size >= MAX_STATEMENTS) statements.clear();
    stmt = db.prepare(sql);
    // rows as arrays, numbers as numbers: what the in-process reader gives (raw.ts)
    if (raw) stmt.raw(true).safeIntegers(false);
    statements.set(cacheKey, stmt);
  }
  return stmt;
}

// a Buffer arrives as a plain Uint8Array; better-sqlite3 binds Buffers
const bindable = (params) => params.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v));

let failed = null;
let queued = [];
let scheduled = false;

function drain() {
  scheduled = false;
  const batch = queued;
  queued = [];
  for (const m of batch) {
    if (failed) break;
    try {
      prepared(m.sql, false).run(...bindable(m.params));
    } catch (err) {
      failed = err;
    }
  }
  if (batch.length) parentPort.postMessage({ id: 0, drained: batch.length });
}

parentPort.on("message", (m) => {
  if (m.op === "queue") {
    queued.push(m);
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
    return;
  }
  if (m.op !== "rows") drain();
  try {
    if (failed && m.op !== "rollback") throw failed;
    switch (m.op) {
      case "rows":
        return parentPort.postMessage({ id: m.id, result: prepared(m.sql, true).all(...bindable(m.params)) });
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
