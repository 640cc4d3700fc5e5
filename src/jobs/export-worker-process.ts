// Runs one export in a worker process (export-worker.ts) and copies its archive
// into a Writable of the caller's (a blob writer). The caller keeps everything
// else: the job's row, progress events, committing or aborting the blob.
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ExportResult } from "../engine/export.js";
import { ARCHIVE_FD, type StartMessage, type WorkerMessage, type WorkerStats } from "./export-worker-protocol.js";

const here = fileURLToPath(import.meta.url);
/** The worker beside this file, in the same form (.ts from the sources, .js once built). */
export const WORKER_ENTRY = join(dirname(here), `export-worker${extname(here)}`);

/**
 * The node flags the worker starts with. The parent's own flags come along (as
 * fork does by default), minus a debugger's: a second process on the same
 * inspector port fails to start. A .ts entry needs tsx's loader: under `npm
 * start` (the tsx CLI) it is in execArgv already; under bin/stowage.js
 * (registered from code) and vitest (its own transform) it is not, so it is
 * added, by absolute URL so that the server's working directory does not matter.
 */
export function workerExecArgv(entry = WORKER_ENTRY, execArgv = process.execArgv): string[] {
  const inherited = execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
  if (extname(entry) !== ".ts" || inherited.some((a) => /(^|[\\/])tsx([\\/]|$)/.test(a))) return inherited;
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return [...inherited, "--import", tsx];
}

export interface WorkerRunOptions {
  onProgress?: (written: number, total: number) => void;
  /** the worker's pid, once it runs */
  onSpawn?: (pid: number) => void;
  /** aborting kills the worker; the run then rejects with the signal's reason */
  signal?: AbortSignal;
}

export interface WorkerOutcome {
  result: ExportResult;
  stats: WorkerStats;
}

// what of a dying worker's stderr is kept for the job's error (the last line says why)
const STDERR_TAIL = 4096;

/** Exports in a worker process into `sink`; rejects with the reason when the worker fails, dies or is killed. */
export function runExportWorker(job: Omit<StartMessage, "type">, sink: Writable, options: WorkerRunOptions = {}): Promise<WorkerOutcome> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: workerExecArgv(),
      // stdout ignored: the archive has a pipe of its own, so nothing printed can corrupt it
      stdio: ["ignore", "ignore", "pipe", "pipe", "ipc"],
    });
    const who = `export worker${child.pid ? ` (pid ${child.pid})` : ""}`;
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-STDERR_TAIL)));
    const archive = child.stdio[ARCHIVE_FD] as Readable;
    let copyError: unknown;
    let discarding = false;
    const copied = pipeline(archive, sink).catch((err) => {
      if (discarding) return;
      copyError ??= err;
      // the archive cannot be stored: the worker's work is wasted
      child.kill("SIGKILL");
    });
    let done: WorkerOutcome | undefined;
    let failed: string | undefined;
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const settle = (err: unknown, value?: WorkerOutcome) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (err === undefined) resolve(value!);
      else reject(err);
    };

    child.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") child.send({ type: "start", ...job } satisfies StartMessage);
      else if (m.type === "progress") options.onProgress?.(m.written, m.total);
      else if (m.type === "done") done ??= { result: m.result, stats: m.stats };
      else failed ??= m.message;
    });
    child.on("error", (err) => {
      // no pid: it never started, and may never emit "exit"
      if (!child.pid) settle(new Error(`the export worker could not start: ${err.message}`));
    });
    if (child.pid) options.onSpawn?.(child.pid);
    child.once("exit", (code, sig) => {
      const ok = code === 0 && done !== undefined;
      // a failed worker's remaining bytes are of no use: do not wait for a stalled sink to take them
      if (!ok) {
        discarding = true;
        archive.destroy();
      }
      void copied.then(() => {
        if (signal?.aborted) return settle(signal.reason ?? new Error(`${who} was stopped`));
        if (copyError) return settle(copyError);
        if (ok) return settle(undefined, done);
        if (failed !== undefined) return settle(new Error(failed));
        const last = stderr.trim().split("\n").filter(Boolean).at(-1);
        const how = sig ? `was killed by ${sig}` : code === 0 ? "exited without a result" : `exited with code ${code}`;
        settle(new Error(`${who} ${how}${last ? `: ${last.slice(0, 500)}` : ""}`));
      });
    });
  });
}
