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
import type { InsertTable } from "./import-baseline.js";
import { RESULT_PREFIX } from "./protocol.js";

export type ImportMeasure = "baseline" | "read" | "preview" | "import";

export interface ImportChildSpec {
  measure: ImportMeasure;
  database: Database;
  targetUserId: string;
  archive: string;
  /** baseline only: the tables to insert into (computed by the parent, so the child loads no Prisma code) */
  tables?: InsertTable[];
  /** skip the warm-ups (Prisma's one-time engine start, an untimed preview here and in a worker), before the clock */
  cold?: boolean;
  /** archives of at least this many bytes are planned in a worker process (the server's IMPORT_WORKER_MIN_BYTES) */
  importWorkerMinBytes?: number;
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

/** lines of the archive the warm-up previews */
const WARM_UP_LINES = 250;
const SETTLE_MS = 1000;

/**
 * A running server has previewed and imported before: its code is compiled
 * and warm, and its spare worker process is ready (jobs/workers.ts). An
 * untimed preview of the archive's first lines, here and in a worker, gives
 * the measured run that state; then a second of idling, so the warm-up's
 * background work (V8 compiling, the spare starting) stays out of the clock.
 */
async function warmUp(spec: ImportChildSpec, workers: import("../src/jobs/workers.js").Workers) {
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
    for (const importWorkerMinBytes of [Number.MAX_SAFE_INTEGER, 0]) await previewArchive({ config: { database: spec.database, importWorkerMinBytes }, workers }, file, spec.targetUserId, options);
  } finally {
    rmSync(path, { force: true });
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
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
  let workers: import("../src/jobs/workers.js").Workers | undefined;
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
    if (!spec.cold) await warmUp(spec, workers);
  }
  const setupRssMiB = maxRssMiB();
  const profiler = spec.profile ? await startProfiler() : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let records: number;
  let worker: ImportChildResult["worker"];
  const config = { database: spec.database, importWorkerMinBytes: spec.importWorkerMinBytes };
  const services = { config, workers };
  if (baseline) {
    records =
      spec.database.provider === "sqlite"
        ? await baseline.sqliteInsertBaseline(spec.database.file, spec.archive, spec.tables!, spec.targetUserId)
        : await baseline.pgInsertBaseline(spec.database, spec.archive, spec.tables!, spec.targetUserId);
  } else if (spec.measure === "read") {
    // the floor under a preview: the archive's lines as the planner gets them (gunzip, split, JSON.parse), once
    records = 0;
    const { source } = await sources!.openSource(spec.archive);
    for await (const batch of source()) for (const p of batch) if (p.ok && p.type !== "metadata") records++;
  } else if (spec.measure === "preview") {
    const file = { path: spec.archive, filename: basename(spec.archive), sha256: "bench", byteSize: statSync(spec.archive).size };
    const { plan, worker: w } = await service!.previewArchive(services, file, spec.targetUserId, options);
    worker = w;
    records = Object.values(plan.counts).reduce((a, c) => a + c.create + c.update + c.skip + c.remap, 0);
  } else {
    const file = { path: spec.archive, filename: basename(spec.archive), sha256: "bench", byteSize: statSync(spec.archive).size };
    const r = await service!.importArchive(
      { ...services, db: handle!.db },
      { requesterId: spec.targetUserId, targetUserId: spec.targetUserId, file, options },
    );
    if (r.error) throw r.error;
    worker = r.worker;
    records = Object.values(r.outcome!.counts).reduce((a, c) => a + c.create + c.update + c.remap, 0);
  }
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
