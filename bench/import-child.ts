// One import-bench measurement in a process of its own (peak RSS is its own):
//   node --import tsx bench/import-child.ts '<json spec>'
// prints one line `BENCH_RESULT {json}` on stdout. The database file it is
// given (a SQLite file, or a PostgreSQL schema) is a fresh empty migrated
// database holding only the target user, so every run does the same work (a cross-user import: every record is
// created under a new id).
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Sqlite from "better-sqlite3";
import pg from "pg";
import type { Database } from "../src/config.js";
import { pgPoolConfig } from "../src/db/pg-config.js";
import type { WorkerStats } from "../src/jobs/worker-protocol.js";
import type { Workers } from "../src/jobs/workers.js";
import type { InsertTable } from "./import-baseline.js";
import { RESULT_PREFIX } from "./protocol.js";

export type ImportMeasure = "baseline" | "read" | "preview" | "import";

export interface ImportChildSpec {
  measure: ImportMeasure;
  database: Database;
  targetUserId: string;
  /** a second user of the database: what the warm-ups import into (see warmUp) */
  warmUpUserId: string;
  archive: string;
  /** baseline only: the tables to insert into (computed by the parent, so the child loads no Prisma code) */
  tables?: InsertTable[];
  /** skip the warm-ups (Prisma's one-time engine start, the untimed run of the same work), before the clock */
  cold?: boolean;
  /** archives of at least this many bytes are planned in a worker process (the server's IMPORT_WORKER_MIN_BYTES) */
  importWorkerMinBytes: number;
  profile?: string;
}

export interface ImportChildResult {
  measure: ImportMeasure;
  /** lines planned (preview) or records written (baseline, import) */
  records: number;
  /** rows owned by the target user after the run (baseline, import): a check that both wrote the same */
  rowsAfter?: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  setupRssMiB: number;
  /** preview and import of a big archive: what the worker process that did the work measured of itself */
  worker?: { peakRssMiB: number; setupRssMiB: number; cpuSeconds: number };
}

const maxRssMiB = () => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};

async function startProfiler() {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  return {
    async stop(path: string) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** Rows owned by the user across the tables (counted after the clock). */
async function ownedRows(database: Database, tables: string[], userId: string): Promise<number> {
  const sql = (t: string, p: string) => `SELECT count(*) AS n FROM "${t}" WHERE "ownerId" = ${p}`;
  if (database.provider === "sqlite") {
    const db = new Sqlite(database.file, { readonly: true });
    try {
      let n = 0;
      for (const t of tables) n += (db.prepare(sql(t, "?")).get(userId) as { n: number }).n;
      return n;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client(pgPoolConfig(database));
  await client.connect();
  try {
    let n = 0;
    for (const t of tables) n += Number(((await client.query(sql(t, "$1"), [userId])).rows[0] as { n: string }).n);
    return n;
  } finally {
    await client.end();
  }
}

/** lines of the archive a big archive's warm-up previews */
const WARM_UP_LINES = 250;
const SETTLE_MS = 1000;

/**
 * Throughput is measured warm, on both sides of the ratio: a running server
 * has imported before (its code is compiled), and the baseline is given the
 * same. An archive planned in this process (below the worker threshold) is
 * first run through the same measurement once, untimed — the baseline's
 * inserts and the import into a second user of the database (so the timed
 * run still meets an empty target), the read and the preview as they are.
 * A big archive is planned in a worker process that starts for it, warm or
 * not; there the server's side is warmed (an untimed preview of the archive's
 * first lines, here and in a worker, which also leaves a spare worker ready).
 * Then a second of idling, so the warm-up's background work (V8 compiling,
 * the spare starting) stays out of the clock.
 */
async function warmUp(spec: ImportChildSpec, run: (userId: string) => Promise<unknown>, workers: Workers | undefined) {
  const inProcess = statSync(spec.archive).size < spec.importWorkerMinBytes;
  if (inProcess) await run(spec.warmUpUserId);
  else if (workers) await previewFirstLines(spec, workers);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

async function previewFirstLines(spec: ImportChildSpec, workers: Workers) {
  const [{ openArchive }, { previewArchive }] = await Promise.all([import("../src/engine/archive/reader.js"), import("../src/engine/import/service.js")]);
  const path = join(tmpdir(), `stowage-bench-warm-up-${process.pid}.jsonl`);
  const archive = await openArchive(spec.archive);
  const lines: string[] = [];
  for await (const batch of archive.lines()) {
    for (const l of batch) if (lines.length < WARM_UP_LINES) lines.push(l.text);
    if (lines.length >= WARM_UP_LINES) break;
  }
  writeFileSync(path, lines.join("\n") + "\n");
  try {
    const file = { path, filename: "warm-up.jsonl", sha256: "bench", byteSize: statSync(path).size };
    const options = { mode: "SKIP" as const, strict: false, resolutions: [] };
    for (const importWorkerMinBytes of [Number.MAX_SAFE_INTEGER, 0]) await previewArchive({ config: { database: spec.database, importWorkerMinBytes }, workers }, file, spec.warmUpUserId, options);
  } finally {
    rmSync(path, { force: true });
  }
}

async function main() {
  const spec = JSON.parse(process.argv[2]) as ImportChildSpec;
  // as the server and the CLI run (src/cli/main.ts)
  if (spec.measure !== "baseline") (await import("../src/heap.js")).tuneHeap();
  const options = { mode: "SKIP" as const, strict: true, resolutions: [] };
  const baseline = spec.measure === "baseline" ? await import("./import-baseline.js") : undefined;
  const service = spec.measure !== "baseline" ? await import("../src/engine/import/service.js") : undefined;
  const sources = spec.measure === "read" ? await import("../src/engine/import/source.js") : undefined;
  const client = spec.measure === "preview" || spec.measure === "import" ? await import("../src/db/client.js") : undefined;
  let handle: Awaited<ReturnType<NonNullable<typeof client>["openDb"]>> | undefined;
  let workers: Workers | undefined;
  if (client) {
    // the import keeps its history through a client of the server's; a server has it (and
    // Prisma's engine) running long before an import: start it before the clock
    handle = await client.openDb(spec.database);
    if (!spec.cold) await handle.db.$transaction((tx) => tx.user.findUnique({ where: { id: spec.targetUserId } }));
    // and the worker bundle, which a server builds as it starts (runtime.ts)
    const [{ workerBundle }, { WORKER_SOURCE }, { Workers }, { loadConfig }] = await Promise.all([
      import("../src/jobs/worker-bundle.js"),
      import("../src/jobs/worker-process.js"),
      import("../src/jobs/workers.js"),
      import("../src/config.js"),
    ]);
    await workerBundle(WORKER_SOURCE);
    // the server's worker processes, with its default spare
    workers = new Workers({ spareSeconds: loadConfig({}).spareWorkerSeconds });
  }
  const config = { database: spec.database, importWorkerMinBytes: spec.importWorkerMinBytes };
  const services = { config, workers };
  const file = { path: spec.archive, filename: basename(spec.archive), sha256: "bench", byteSize: statSync(spec.archive).size };
  /** the measured work for one user: lines planned or records written, and what a worker measured of itself */
  const measure = async (userId: string): Promise<{ records: number; worker?: WorkerStats }> => {
    if (baseline)
      return {
        records:
          spec.database.provider === "sqlite"
            ? await baseline.sqliteInsertBaseline(spec.database.file, spec.archive, spec.tables!, userId)
            : await baseline.pgInsertBaseline(spec.database, spec.archive, spec.tables!, userId),
      };
    if (spec.measure === "read") {
      // the floor under a preview: the archive's lines as the planner gets them (gunzip, split, JSON.parse), once
      let records = 0;
      const { source } = await sources!.openSource(spec.archive);
      for await (const batch of source()) for (const p of batch) if (p.ok && p.type !== "metadata") records++;
      return { records };
    }
    if (spec.measure === "preview") {
      const { plan, worker } = await service!.previewArchive(services, file, userId, options);
      return { records: Object.values(plan.counts).reduce((a, c) => a + c.create + c.update + c.skip + c.remap, 0), worker };
    }
    const r = await service!.importArchive({ ...services, db: handle!.db }, { requesterId: userId, targetUserId: userId, file, options });
    if (r.error) throw r.error;
    return { records: Object.values(r.outcome!.counts).reduce((a, c) => a + c.create + c.update + c.remap, 0), worker: r.worker };
  };
  if (!spec.cold) await warmUp(spec, measure, workers);
  const setupRssMiB = maxRssMiB();
  const profiler = spec.profile ? await startProfiler() : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { records, worker } = await measure(spec.targetUserId);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // the worker's CPU is its own process's: counted with this one's
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 + (worker?.cpuSeconds ?? 0);
  const peak = maxRssMiB();
  if (profiler) await profiler.stop(spec.profile!);
  workers?.stop();
  await handle?.close();
  const rowsAfter = spec.measure === "preview" || !spec.tables ? undefined : await ownedRows(spec.database, [...new Set(spec.tables.map((t) => t.table))], spec.targetUserId);
  const out: ImportChildResult = {
    measure: spec.measure,
    records,
    rowsAfter,
    seconds,
    cpuSeconds,
    maxRssMiB: peak,
    setupRssMiB,
    worker: worker && { peakRssMiB: worker.peakRssMiB, setupRssMiB: worker.setupRssMiB, cpuSeconds: worker.cpuSeconds },
  };
  process.stdout.write(RESULT_PREFIX + JSON.stringify(out) + "\n");
}

await main();
