// A job in a process of its own, started by the server (worker-process.ts,
// child_process.fork): a ZIP or JSONL export, or the preview or run of a big
// import. It works through the driver (withDriverSnapshot, withDriverTransaction)
// and never starts Prisma, so it holds a fraction of what the server does
// before the first record (bench/README.md), and whatever the job grows (V8's
// heap for the allocation rate, zlib, an import's id index) is returned to the
// system when it exits. An export's archive goes to ARCHIVE_FD; progress and
// the result go over IPC; the server keeps the rows, the blob and the events.
import { readFileSync } from "node:fs";
import { Socket } from "node:net";
import { setRemoteGate } from "../db/write-gate.js";
import { StowageError, toWire } from "../engine/errors.js";
import { writeExport } from "../engine/export.js";
import { openSource } from "../engine/import/source.js";
import { preview, runImport } from "../engine/import/run.js";
import type { ImportPlan } from "../engine/import/plan.js";
import { withDriverSnapshot } from "../engine/driver-snapshot.js";
import { tuneHeap } from "../heap.js";
import { ARCHIVE_FD, startMessage, type ExportJobMessage, type ImportJobMessage, type ServerMessage, type WorkerMessage, type WorkerStats } from "./worker-protocol.js";
import { filterFromStored } from "./stored-filter.js";
import { throttle } from "./throttle.js";

// VmHWM rather than getrusage's maxRSS: Linux carries ru_maxrss across fork+exec, so a
// worker of a big server would report the server's size
function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) return reject(new Error("the server is gone"));
    process.send(message, undefined, undefined, (err) => (err ? reject(err) : resolve()));
  });
}

// the server throttles what it stores and publishes; this only keeps the channel quiet
const progress = () => throttle(100, (done: number, total: number) => void send({ type: "progress", done, total }).catch(() => {}));

async function exportJob(job: ExportJobMessage) {
  const archive = new Socket({ fd: ARCHIVE_FD, readable: false, writable: true });
  const p = progress();
  const result = await withDriverSnapshot(job.database, (db) =>
    writeExport(db, { ownerId: job.ownerId, filter: filterFromStored(job.filter), format: job.format, gzip: job.gzip, now: new Date(job.now), onProgress: p.call }, archive),
  );
  p.flush();
  // writeExport resolves once the socket has finished: every byte is with the server's end of the pipe
  return { records: result.records, total: result.total, counts: result.counts };
}

/** The server's writes wait while this import holds SQLite's write lock: asked for before it is taken, given back after. */
function gateThroughServer() {
  let held: (() => void) | undefined;
  process.on("message", (m: ServerMessage) => m.type === "held" && held?.());
  setRemoteGate(async (file, fn) => {
    await new Promise<void>((resolve) => {
      held = resolve;
      void send({ type: "hold", file }).catch(() => {});
    });
    try {
      return await fn();
    } finally {
      await send({ type: "release" }).catch(() => {});
    }
  });
}

async function importJob(job: ImportJobMessage) {
  const { source } = await openSource(job.path);
  const req = { targetUserId: job.targetUserId, options: job.options, source };
  const p = progress();
  let plan: ImportPlan;
  if (job.job === "preview") plan = await preview(job.database, { ...req, onProgress: p.call });
  else {
    gateThroughServer();
    plan = await runImport(job.database, { ...req, history: job.history, onProgress: p.call });
  }
  p.flush();
  return plan;
}

async function run(raw: unknown): Promise<void> {
  const setupRssMiB = peakRssMiB();
  const cpu0 = process.cpuUsage();
  try {
    const job = startMessage.parse(raw);
    const result = job.job === "export" ? await exportJob(job) : await importJob(job);
    const cpu = process.cpuUsage(cpu0);
    const stats: WorkerStats = { pid: process.pid, peakRssMiB: peakRssMiB(), setupRssMiB, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    await send({ type: "done", result, stats });
    process.exit(0);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    await send({ type: "failed", message: e.message, name: e.name, error: e instanceof StowageError ? toWire(e) : undefined }).catch(() => {});
    process.exit(1);
  }
}

if (!process.send) {
  process.stderr.write("the worker is started by the server (child_process.fork with an IPC channel), not by hand\n");
  process.exit(2);
}
// as the server and the CLI run (src/cli/main.ts)
tuneHeap();
// the server went away (crashed, killed): nobody reads the archive any more
process.on("disconnect", () => process.exit(1));
process.once("message", (raw) => void run(raw));
// told only now: a message sent before the listener existed would be lost
void send({ type: "ready" });
