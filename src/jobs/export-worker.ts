// An export in a process of its own: started by the server (export-worker-process.ts,
// child_process.fork) for each ZIP or JSONL export job. It reads through the driver
// in one read transaction (withDriverSnapshot) and never starts Prisma, so it holds
// a fraction of what the server does before the first record (bench/README.md,
// "export"), and whatever an export grows (V8's heap for the allocation rate, zlib)
// is returned to the system when it exits. The archive goes to ARCHIVE_FD, progress
// and the result over IPC; the server keeps the job's row, the blob and the events.
import { readFileSync } from "node:fs";
import { Socket } from "node:net";
import { writeExport } from "../engine/export.js";
import { withDriverSnapshot } from "../engine/snapshot.js";
import { ARCHIVE_FD, startMessage, type WorkerMessage, type WorkerStats } from "./export-worker-protocol.js";
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

async function run(raw: unknown): Promise<void> {
  const setupRssMiB = peakRssMiB();
  const cpu0 = process.cpuUsage();
  try {
    const job = startMessage.parse(raw);
    const archive = new Socket({ fd: ARCHIVE_FD, readable: false, writable: true });
    // the server throttles what it stores and publishes; this only keeps the channel quiet
    const progress = throttle(100, (written: number, total: number) => void send({ type: "progress", written, total }).catch(() => {}));
    const result = await withDriverSnapshot(job.database, (db) =>
      writeExport(db, { ownerId: job.ownerId, filter: filterFromStored(job.filter), format: job.format, gzip: job.gzip, now: new Date(job.now), onProgress: progress.call }, archive),
    );
    progress.flush();
    // writeExport resolves once the socket has finished: every byte is with the server's end of the pipe
    const cpu = process.cpuUsage(cpu0);
    const stats: WorkerStats = { pid: process.pid, peakRssMiB: peakRssMiB(), setupRssMiB, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    await send({ type: "done", result: { records: result.records, total: result.total, counts: result.counts }, stats });
    process.exit(0);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    await send({ type: "failed", message: e.message, name: e.name }).catch(() => {});
    process.exit(1);
  }
}

if (!process.send) {
  process.stderr.write("export-worker is started by the server (child_process.fork with an IPC channel), not by hand\n");
  process.exit(2);
}
// the server went away (crashed, killed): nobody reads the archive any more
process.on("disconnect", () => process.exit(1));
process.once("message", (raw) => void run(raw));
// told only now: a message sent before the listener existed would be lost
void send({ type: "ready" });
