// `npm run bench -- import`: preview and import of an archive of 10k, 100k and
// 1M demo records, beside a raw driver-level baseline in the same run
// (bench/import-baseline.ts), on SQLite and PostgreSQL. The archive is the
// export of the cached seeded SQLite dataset (made once per scale, kept in
// .bench-cache/), imported into either database; every measurement runs in a
// fresh child (bench/import-child.ts) on a fresh empty migrated database (a
// copy of a SQLite file, a new PostgreSQL schema) that holds only the target
// user, so each run does the same work: a cross-user import, every record
// created under a new id.
// Prints a markdown table and the issue's targets as PASS/FAIL; exits 0.
//
// flags:
//   --scales 10000,100000,1000000   record counts (10k, 1m also accepted)
//   --measures baseline,read,preview,import
//   --databases sqlite,postgresql   default: sqlite, plus postgresql when DATABASE_URL is postgres://
//   --repeat N                      runs per measurement, interleaved, median by wall time
//                                   (default: 3 up to 10k records, 1 above)
//   --profile                       also run each measurement once more under the CPU profiler
//   --cold                          no warm-up: include Prisma's one-time engine start, first compilations, the worker's start
//   --reseed                        rebuild the cached datasets (and so the archives)
//   --node-flags="..."              extra node flags for every child
//   --in-process                    plan and write in the child itself, whatever the archive's size
//                                   (the server's default: archives of 8 MiB and more in a worker process)
import { spawn } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import Sqlite from "better-sqlite3";
import { intList, stringList, type Args } from "./args.js";
import { DEFAULT_IMPORT_WORKER_MIN_BYTES, type Database } from "../src/config.js";
import { CACHE_DIR, REPO, datasetKey, ensureCacheDir, sqliteDataset, type Dataset, type DatabaseKind } from "./datasets.js";
import type { ImportChildResult, ImportChildSpec, ImportMeasure } from "./import-child.js";
import type { InsertTable } from "./import-baseline.js";
import { printProfile } from "./profile.js";
import { RESULT_PREFIX } from "./protocol.js";

export const DEFAULT_SCALES = [10_000, 100_000, 1_000_000];
const TARGET_RATIO = 0.5;
const TARGET_PREVIEW_RPS = 200_000;
/** the issue's 300 MB */
const TARGET_RSS_MIB = 300e6 / 2 ** 20;
const TARGET_EMAIL = "import-target@stowage.local";
const WARM_UP_EMAIL = "import-warm-up@stowage.local";

/** The users of an empty database: the one imported into, and the one the warm-ups import into (import-child.ts). */
interface Users {
  targetUserId: string;
  warmUpUserId: string;
}

async function createUsers(database: Database): Promise<Users> {
  const { openDb } = await import("../src/db/client.js");
  const { createUser } = await import("../src/auth/users.js");
  const handle = await openDb(database);
  try {
    return {
      targetUserId: (await createUser(handle.db, { email: TARGET_EMAIL })).user.id,
      warmUpUserId: (await createUser(handle.db, { email: WARM_UP_EMAIL })).user.id,
    };
  } finally {
    await handle.close();
  }
}

const CHILD = join(REPO, "bench", "import-child.ts");
const WORK_DB = join(CACHE_DIR, "import-work.db");
const WORK_SCHEMA = "bench_import_work";

function runChild(spec: ImportChildSpec, nodeFlags: string[]): Promise<ImportChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", CHILD, JSON.stringify(spec)], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "warn" },
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) return reject(new Error(`import bench child (${spec.measure}) exited with ${code}\n${out}`));
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ImportChildResult);
    });
  });
}

/** Per kind, in archive order: the table, every column of the model, the reference fields. */
async function insertTables(provider: DatabaseKind): Promise<InsertTable[]> {
  const { modelInfos } = await import("../src/db/bulk.js");
  const { KINDS } = await import("../src/engine/kinds/index.js");
  const infos = modelInfos(provider);
  return KINDS.map((k) => {
    const info = infos.get(k.model)!;
    return {
      kind: k.kind,
      table: info.table,
      columns: info.columns.map((c) => ({ field: c.field, column: c.column, type: c.isEnum ? "Enum" : c.type, isRequired: c.isRequired, isUpdatedAt: c.isUpdatedAt, default: c.default })),
      refs: k.refs.map((r) => r.field),
    };
  });
}

function removeDb(file: string): void {
  for (const s of ["", "-wal", "-shm", "-journal"]) rmSync(file + s, { force: true });
}

function foldWal(file: string): void {
  const raw = new Sqlite(file);
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
  for (const s of ["-wal", "-shm"]) rmSync(file + s, { force: true });
}

/** An empty migrated database holding only the target user and the warm-up user (cached per schema key). */
async function emptyTemplate(): Promise<Users & { file: string }> {
  const key = datasetKey();
  const file = join(CACHE_DIR, `import-empty-${key}.db`);
  const metaFile = `${file}.json`;
  if (existsSync(file) && existsSync(metaFile)) {
    const users = JSON.parse(readFileSync(metaFile, "utf8")) as Partial<Users>;
    if (users.targetUserId && users.warmUpUserId) return { file, targetUserId: users.targetUserId, warmUpUserId: users.warmUpUserId };
  }
  const { migrate } = await import("../src/db/migrate.js");
  const tmp = `${file}.tmp`;
  removeDb(tmp);
  const database = { provider: "sqlite" as const, file: tmp };
  await migrate(database);
  const users = await createUsers(database);
  foldWal(tmp);
  copyFileSync(tmp, file);
  removeDb(tmp);
  writeFileSync(metaFile, JSON.stringify({ key, ...users }) + "\n");
  return { file, ...users };
}

/** A new empty migrated PostgreSQL schema holding only the target user and the warm-up user (made for every run: a schema cannot be copied as a file is). */
async function emptyPgSchema(url: string): Promise<Users & { database: Extract<Database, { provider: "postgresql" }> }> {
  const u = new URL(url);
  u.searchParams.set("schema", WORK_SCHEMA);
  const database = { provider: "postgresql" as const, url: u.toString(), schema: WORK_SCHEMA };
  await dropPgSchema(database);
  const { migrate } = await import("../src/db/migrate.js");
  await migrate(database);
  return { database, ...(await createUsers(database)) };
}

async function dropPgSchema(database: Extract<Database, { provider: "postgresql" }>): Promise<void> {
  const { default: pg } = await import("pg");
  const { pgPoolConfig } = await import("../src/db/pg-config.js");
  const client = new pg.Client({ ...pgPoolConfig(database), options: undefined });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${database.schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The dataset's full export (ZIP), made once per scale and dataset key. */
async function archiveOf(dataset: Dataset): Promise<string> {
  const file = join(CACHE_DIR, `import-archive-${dataset.kind}-${dataset.scale}-${datasetKey()}.zip`);
  if (existsSync(file)) return file;
  process.stderr.write(`exporting the ${dataset.scale.toLocaleString("en")}-record dataset to ${file}\n`);
  const { withSnapshot } = await import("../src/engine/snapshot.js");
  const { writeExport } = await import("../src/engine/export.js");
  const { ALL_SECTIONS } = await import("../src/engine/kinds/index.js");
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  await withSnapshot(dataset.database, (db) => writeExport(db, { ownerId: dataset.ownerId, filter: { sections: [...ALL_SECTIONS] }, format: "ZIP" }, out));
  if (!out.writableFinished) await finished(out);
  copyFileSync(tmp, file);
  rmSync(tmp, { force: true });
  return file;
}

interface Row {
  database: DatabaseKind;
  scale: number;
  seeded: number;
  measure: ImportMeasure;
  result: ImportChildResult;
  load: number;
  runs: number;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The peak of the process that did the work: the worker's, when there was one. */
const peakOf = (r: ImportChildResult) => r.worker?.peakRssMiB ?? r.maxRssMiB;

function printTable(rows: Row[]): void {
  console.log(`\n## Import benchmark (${[...new Set(rows.map((r) => (r.database === "sqlite" ? "SQLite" : "PostgreSQL")))].join(", ")})\n`);
  console.log(
    "Each run: a fresh child process (`node --import tsx`), a fresh empty migrated database (a copy of a SQLite file, a new PostgreSQL schema) holding only the target user, " +
      "the full ZIP export of the seeded dataset imported into that user (cross-user: every record created under a new id), " +
      "options `{ mode: SKIP, strict: true }`. preview = `previewArchive` (plan only, in a snapshot); import = `importArchive` " +
      "(history record + plan + apply in one transaction); baseline = the reader's lines + JSON.parse + one prepared better-sqlite3 INSERT per table " +
      "(PostgreSQL: one prepared pg INSERT of 200 rows per table, foreign keys unchecked in replica role), one transaction, no validation; read = the archive's lines as the planner gets them (gunzip, line split, JSON.parse) and nothing else, the floor under a preview. records/s counts lines planned (preview) or records written; CPU s is the child's user+system time; " +
      "peak RSS is VmHWM (MiB), \"before work\" the peak once modules were loaded (and, for preview/import, Prisma's engine started — before the clock). " +
      "A preview or import of an archive of 8 MiB or more runs in a worker process, as the server runs it: its peak RSS is then the worker's (the process that plans and writes), " +
      "\"server peak\" the child's own (the server's role: Prisma, the history record), and CPU s counts both. " +
      "rows after: rows owned by the target user afterwards. " +
      "Measured warm: a measurement planned in the child itself (an archive under 8 MiB) first runs once untimed — the baseline's inserts and the import into a second user of the database, the read and the preview as they are — so both sides of the ratio run compiled code; " +
      "a big archive's warm-up is an untimed preview of its first lines, here and in a worker (the worker that plans it starts for it either way); `--cold` measures first runs. " +
      "Peak RSS is the process's high-water mark, the warm-up's included.\n",
  );
  console.log("| database | scale | measurement | records | wall s | CPU s | load | records/s | × baseline | rows after | peak RSS MiB | before work MiB | server peak MiB |");
  console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const r = row.result;
    const rps = r.records / r.seconds;
    const base = rows.find((b) => b.measure === "baseline" && b.scale === row.scale && b.database === row.database)?.result;
    const ratio = row.measure === "import" && base ? `${fmt(rps / (base.records / base.seconds), 2)}×` : "";
    const cells = [
      row.database,
      fmt(row.scale),
      `${row.measure}${row.runs > 1 ? ` (median of ${row.runs})` : ""}`,
      fmt(r.records),
      fmt(r.seconds, 2),
      fmt(r.cpuSeconds, 2),
      fmt(row.load, 1),
      fmt(rps),
      ratio,
      r.rowsAfter === undefined ? "" : fmt(r.rowsAfter),
      fmt(peakOf(r), 1),
      fmt(r.worker?.setupRssMiB ?? r.setupRssMiB, 1),
      r.worker ? fmt(r.maxRssMiB, 1) : "",
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}

function printTargets(rows: Row[]): void {
  console.log("\n## Targets\n");
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  for (const database of new Set(rows.map((r) => r.database))) {
    const mine = rows.filter((r) => r.database === database);
    for (const scale of new Set(mine.map((r) => r.scale))) {
      const get = (m: ImportMeasure) => mine.find((r) => r.scale === scale && r.measure === m)?.result;
      const b = get("baseline");
      const i = get("import");
      const p = get("preview");
      const at = `${database} ${fmt(scale)}`;
      if (b && i) {
        const ratio = i.records / i.seconds / (b.records / b.seconds);
        console.log(`- ${verdict(ratio >= TARGET_RATIO)} ${at}: import records/s ≥ ${TARGET_RATIO}× baseline — ${fmt(ratio, 2)}× (${fmt(i.records / i.seconds)} vs ${fmt(b.records / b.seconds)} records/s)`);
        if (b.rowsAfter !== i.rowsAfter) console.log(`- MISMATCH ${at}: the import left ${i.rowsAfter} rows, the baseline ${b.rowsAfter}`);
      }
      if (p) {
        const rps = p.records / p.seconds;
        const read = get("read");
        const floor = read ? ` (reading the archive alone: ${fmt(read.records / read.seconds)} records/s)` : "";
        console.log(`- ${verdict(rps >= TARGET_PREVIEW_RPS)} ${at}: preview ≥ ${fmt(TARGET_PREVIEW_RPS)} records/s — ${fmt(rps)}${floor}`);
      }
    }
    const m1 = mine.filter((r) => r.scale === 1_000_000 && (r.measure === "preview" || r.measure === "import"));
    if (m1.length)
      for (const { measure, result: r } of m1) {
        const server = r.worker ? ` (in a worker process; the server process meanwhile: ${fmt(r.maxRssMiB, 1)} MiB)` : "";
        console.log(`- ${verdict(peakOf(r) <= TARGET_RSS_MIB)} ${database}: ${measure} peak RSS at 1M ≤ 300 MB (${fmt(TARGET_RSS_MIB, 1)} MiB) — ${fmt(peakOf(r), 1)} MiB${server}`);
      }
    else console.log(`- n/a ${database}: peak RSS at 1M ≤ 300 MB (${fmt(TARGET_RSS_MIB, 1)} MiB) — 1M not run`);
  }
}

export async function runImportBench(args: Args): Promise<void> {
  const scales = intList(args.flags.get("scales"), DEFAULT_SCALES);
  const url = process.env.DATABASE_URL;
  const pgUrl = url && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
  const databases = stringList(args.flags.get("databases"), pgUrl ? ["sqlite", "postgresql"] : ["sqlite"]) as DatabaseKind[];
  for (const d of databases) if (d !== "sqlite" && d !== "postgresql") throw new Error(`unknown database ${d}`);
  if (databases.includes("postgresql") && !pgUrl) throw new Error("--databases postgresql needs DATABASE_URL=postgresql://...");
  const measures = stringList(args.flags.get("measures"), ["baseline", "read", "preview", "import"]) as ImportMeasure[];
  for (const m of measures) if (!["baseline", "read", "preview", "import"].includes(m)) throw new Error(`unknown measure ${m}`);
  const repeatFlag = args.flags.get("repeat");
  const repeatFor = (scale: number) => (repeatFlag === undefined ? (scale <= 10_000 ? 3 : 1) : intList(repeatFlag, [1])[0]);
  const reseed = args.flags.has("reseed");
  const cold = args.flags.has("cold");
  const profile = args.flags.has("profile");
  const importWorkerMinBytes = args.flags.has("in-process") ? Number.MAX_SAFE_INTEGER : DEFAULT_IMPORT_WORKER_MIN_BYTES;
  const nodeFlagsArg = args.flags.get("node-flags");
  const nodeFlags = typeof nodeFlagsArg === "string" ? nodeFlagsArg.split(/\s+/).filter(Boolean) : [];
  ensureCacheDir();
  const template = await emptyTemplate();

  const rows: Row[] = [];
  const extras: (() => void)[] = [];
  for (const scale of scales) {
    const dataset = await sqliteDataset(scale, reseed);
    if (reseed) rmSync(join(CACHE_DIR, `import-archive-${dataset.kind}-${scale}-${datasetKey()}.zip`), { force: true });
    const archive = await archiveOf(dataset);
    for (const database of databases) {
      const tables = await insertTables(database);
      process.stderr.write(`measuring ${database} ${fmt(scale)} (archive ${archive}, ${fmt(dataset.seeded)} records seeded)\n`);
      const run = async (measure: ImportMeasure, extra: Partial<ImportChildSpec> = {}) => {
        let target: Users & { database: Database };
        if (database === "sqlite") {
          removeDb(WORK_DB);
          copyFileSync(template.file, WORK_DB);
          target = { database: { provider: "sqlite", file: WORK_DB }, targetUserId: template.targetUserId, warmUpUserId: template.warmUpUserId };
        } else target = await emptyPgSchema(pgUrl!);
        // read the archive once so no run pays for a cold page cache
        readFileSync(archive);
        const spec: ImportChildSpec = { measure, ...target, archive, tables, cold, importWorkerMinBytes, ...extra };
        try {
          return await runChild(spec, nodeFlags);
        } finally {
          if (target.database.provider === "sqlite") removeDb(WORK_DB);
          else await dropPgSchema(target.database);
        }
      };
      const runs = new Map<ImportMeasure, { result: ImportChildResult; load: number }[]>(measures.map((m) => [m, []]));
      const repeat = repeatFor(scale);
      for (let i = 0; i < repeat; i++) {
        for (const m of measures) {
          const result = await run(m);
          const load = loadavg()[0];
          process.stderr.write(
            `  ${database} ${scale} ${m}${repeat > 1 ? ` #${i + 1}` : ""}: ${result.records} records in ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s), peak RSS ${peakOf(result).toFixed(0)} MiB${result.worker ? ` (worker; server ${result.maxRssMiB.toFixed(0)} MiB)` : ""}, load ${load.toFixed(1)}\n`,
          );
          runs.get(m)!.push({ result, load });
        }
      }
      for (const m of measures) {
        const sorted = runs.get(m)!.sort((a, b) => a.result.seconds - b.result.seconds);
        const median = sorted[Math.floor((sorted.length - 1) / 2)];
        rows.push({ database, scale, seeded: dataset.seeded, measure: m, result: median.result, load: median.load, runs: repeat });
      }
      for (const m of profile ? measures : []) {
        const dir = join(CACHE_DIR, "profiles");
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `import-${m}-${database}-${scale}-${Date.now()}.cpuprofile`);
        await run(m, { profile: file });
        extras.push(() => printProfile(`import bench ${m}, ${database} ${fmt(scale)}`, file));
      }
    }
  }
  printTable(rows);
  printTargets(rows);
  for (const e of extras) e();
}
