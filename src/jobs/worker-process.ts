// Runs one job in a worker process (worker.ts): an export, whose archive it
// copies into a Writable of the caller's (a blob writer), or an import's
// preview or run, whose plan comes back as the result. The caller keeps
// everything else: the job's row, progress events, committing or aborting the
// blob, the import's history record.
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { extname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../db/migrations.js";
import { holdingWrites } from "../db/write-gate.js";
import { fromWire } from "../engine/errors.js";
import { ARCHIVE_FD, type ServerMessage, type StartMessage, type WorkerMessage, type WorkerStats } from "./worker-protocol.js";
import { workerBundle } from "./worker-bundle.js";

/** The worker's source; workers run it bundled (worker-bundle.ts), or under tsx when that cannot be built. */
export const WORKER_SOURCE = join(projectRoot, "src", "jobs", "worker.ts");

const LOADER_FLAGS = new Set(["--require", "-r", "--import", "--loader", "--experimental-loader"]);
const isTsx = (a: string) => /(^|[\\/])tsx([\\/]|$)/.test(a);

/**
 * The node flags a worker starts with: the parent's own (as fork does by
 * default), minus a debugger's (a second process on the same inspector port
 * fails to start). A .ts entry needs tsx's loader: under `npm start` (the tsx
 * CLI) it is among the flags already; under bin/stowage.js (registered from
 * code) and vitest (a transform of its own) it is not, so it is added, by
 * absolute URL so that the working directory does not matter. A bundle needs
 * no loader: tsx's flags are dropped, and with them its thread.
 */
export function workerExecArgv(entry: string, execArgv: readonly string[] = process.execArgv): string[] {
  const inherited = execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
  if (extname(entry) === ".ts") {
    if (inherited.some(isTsx)) return inherited;
    return [...inherited, "--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href];
  }
  const out: string[] = [];
  for (let i = 0; i < inherited.length; i++) {
    const a = inherited[i];
    const eq = a.indexOf("=");
    if (LOADER_FLAGS.has(a) && isTsx(inherited[i + 1] ?? "")) i++;
    else if (!(eq > 0 && LOADER_FLAGS.has(a.slice(0, eq)) && isTsx(a.slice(eq + 1)))) out.push(a);
  }
  return out;
}

/**
 * A worker's young generation: 16 MiB semi-spaces (V8's own on 64-bit, said
 * here so that it is chosen, not inherited). In a smaller one what a page of
 * records allocates outlives scavenges and is promoted, to be collected again
 * with the old generation: at a million records a preview took 18.6–22.6 s
 * with 8 MiB, 15.3–16.2 s with these, an export 16.8 against 12.9–14.1 s, for
 * 14–21 MiB more at their peak (bench/README.md).
 */
export const WORKER_HEAP_FLAGS = ["--max-semi-space-size=16"];

/**
 * A big import's worker: 4 MiB semi-spaces. An import holds the most of any
 * job (the file's ids, the SQLite thread's isolate beside the planner's): a
 * million-record SQLite import peaked at 299 MiB with 16 MiB ones, past the
 * 300 MB (286 MiB) it may hold, at 265–282 MiB with 8 MiB (274 with 6), and at
 * 253–256 MiB with these, for about a tenth more time (57.5–64.4 s against
 * 49.5–59.1 s; the baseline 39–40 s).
 */
export const BIG_IMPORT_HEAP_FLAGS = ["--max-semi-space-size=4"];

let entryNote: string | undefined;

/** The bundle when it builds, else the sources (and why, once, for the log). */
async function workerEntry(): Promise<{ entry: string; note?: string }> {
  try {
    return { entry: await workerBundle(WORKER_SOURCE) };
  } catch (err) {
    const note = entryNote === undefined ? `workers run from their sources under tsx: bundling failed (${(err as Error).message})` : undefined;
    entryNote ??= note;
    return { entry: WORKER_SOURCE, note };
  }
}

export interface WorkerRunOptions {
  /** an export's archive goes here */
  sink?: Writable;
  onProgress?: (done: number, total: number) => void;
  /** aborting kills the worker; the run then rejects with the signal's reason */
  signal?: AbortSignal;
}

export interface WorkerOutcome<R> {
  result: R;
  stats: WorkerStats;
}

// what of a dying worker's stderr is kept for the job's error (the last line says why)
const STDERR_TAIL = 4096;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * One worker process, for one job. `spawn` resolves once it has loaded its
 * code and listens (a ready worker can wait for its job: ExportJobs keeps one
 * spare so that a job does not wait for a process to start); `run` gives it
 * the job.
 */
export class JobWorker {
  private stderr = "";
  private exit?: Exit;
  private readonly exited: Promise<Exit>;
  /** exited, every stdio stream closed and the IPC channel too: no message is still on its way */
  private readonly closed: Promise<void>;
  private used = false;
  /** what it was given to do, for its messages */
  private job?: StartMessage["job"];

  private constructor(
    private readonly child: ChildProcess,
    /** why the worker is not the bundle, when it is not (for a log line) */
    readonly note?: string,
  ) {
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr = (this.stderr + d).slice(-STDERR_TAIL)));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve((this.exit = { code, signal }))));
    const disconnected = new Promise<void>((resolve) => (child.connected ? child.once("disconnect", resolve) : resolve()));
    this.closed = Promise.all([new Promise((resolve) => child.once("close", resolve)), disconnected]).then(() => {});
  }

  /** `entry`: the bundle when it builds (the default), or a module of one's choosing (WORKER_SOURCE runs under tsx) */
  static async spawn(entry?: string, heapFlags: readonly string[] = WORKER_HEAP_FLAGS): Promise<JobWorker> {
    const { entry: chosen, note } = entry ? { entry, note: undefined } : await workerEntry();
    return JobWorker.start(chosen, note, heapFlags);
  }

  private static async start(entry: string, note: string | undefined, heapFlags: readonly string[]): Promise<JobWorker> {
    const child = fork(entry, [], {
      execArgv: [...workerExecArgv(entry), ...heapFlags],
      // stdout ignored: the archive has a pipe of its own, so nothing printed can corrupt it
      stdio: ["ignore", "ignore", "pipe", "pipe", "ipc"],
    });
    const worker = new JobWorker(child, note);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type !== "ready") return;
        done();
        resolve();
      };
      const onError = (err: Error) => {
        done();
        child.kill("SIGKILL");
        reject(new Error(`the worker could not start: ${err.message}`));
      };
      const onExit = () => {
        done();
        reject(new Error(`the worker could not start: ${worker.reason()}`));
      };
      const done = () => {
        child.off("message", onMessage);
        child.off("error", onError);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.once("error", onError);
      child.once("exit", onExit);
    });
    return worker;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  /** How it ended, for a job's error: the signal or exit code, and the last line it wrote to stderr. */
  private reason(): string {
    const e = this.exit;
    const how = !e ? "is still running" : e.signal ? `was killed by ${e.signal}` : e.code === 0 ? "exited without a result" : `exited with code ${e.code}`;
    const last = this.stderr.trim().split("\n").filter(Boolean).at(-1);
    return `${this.job ? `${this.job} ` : ""}worker (pid ${this.child.pid}) ${how}${last ? `: ${last.slice(0, 500)}` : ""}`;
  }

  /**
   * Runs the job (an export's archive into `options.sink`); rejects with the
   * reason when the worker fails (its StowageError as its own class), dies or
   * is killed.
   */
  async run<R>(job: StartMessage, options: WorkerRunOptions = {}): Promise<WorkerOutcome<R>> {
    if (this.used) throw new Error("a worker runs one job");
    this.used = true;
    this.job = job.job;
    const { child } = this;
    const { signal } = options;
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) {
        child.kill("SIGKILL");
        throw signal.reason;
      }
      const archive = child.stdio[ARCHIVE_FD] as Readable;
      let copyError: unknown;
      let discarding = false;
      const { sink } = options;
      // an import writes nothing there: the pipe just ends with the process
      const copied = sink
        ? pipeline(archive, sink).catch((err) => {
            if (discarding) return;
            copyError ??= err;
            // the archive cannot be stored: the worker's work is wasted
            child.kill("SIGKILL");
          })
        : Promise.resolve(archive.resume());
      let done: WorkerOutcome<R> | undefined;
      let failed: Error | undefined;
      let release: (() => void) | undefined;
      child.on("message", (m: WorkerMessage) => {
        if (m.type === "progress") options.onProgress?.(m.done, m.total);
        else if (m.type === "hold") {
          // held until the worker says so or is gone, whichever comes first
          void holdingWrites(m.file, () => {
            const ended = new Promise<void>((resolve) => (release = resolve));
            if (this.alive) child.send({ type: "held" } satisfies ServerMessage);
            return Promise.race([ended, this.exited]);
          });
        } else if (m.type === "release") release?.();
        else if (m.type === "done") done ??= { result: m.result as R, stats: m.stats };
        else if (m.type === "failed") failed ??= m.error ? fromWire(m.error) : new Error(m.message);
      });
      // it may have died while it waited as the spare
      if (this.alive) child.send(job, (err) => err && child.kill("SIGKILL"));
      const exit = await this.exited;
      if (exit.code !== 0) {
        // it exits 0 only once its archive is complete: a failed worker's remaining bytes are of
        // no use, and the sink is the caller's to abort, so nothing waits for a stalled sink
        discarding = true;
        archive.destroy();
      }
      await this.closed;
      if (exit.code === 0) await copied;
      const ok = exit.code === 0 && done !== undefined;
      if (signal?.aborted) throw signal.reason ?? new Error("stopped");
      if (copyError) throw copyError;
      if (ok) return done!;
      throw failed ?? new Error(this.reason());
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
