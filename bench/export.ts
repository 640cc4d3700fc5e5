// `npm run bench -- export`: the streaming export against a driver-level
// baseline, at 10k, 100k and 1M demo records, on SQLite (and on PostgreSQL
// when DATABASE_URL is a postgres URL). Every measurement runs in a fresh
// child process (bench/child.ts) so its peak RSS is its own; output goes to
// /dev/null. The export measurement is the server's job path (bench/server-job.ts):
// the child plays the server (Prisma client open, ExportJobs) and the export runs
// in the job's worker process, whose own peak RSS is the export's; the server
// process's peak is reported beside it. Prints a markdown table and the issue's targets as PASS/FAIL,
// and always exits 0: a benchmark reports, it does not gate.
//
// flags:
//   --scales 10000,100000,1000000   record counts (10k, 1m also accepted)
//   --databases sqlite,postgresql   default: sqlite, plus postgresql when DATABASE_URL is postgres://
//   --measures baseline,export      what to run (also export-driver: the export in a process that never
//                                   starts Prisma, through withDriverSnapshot)
//   --repeat N                      runs per measurement, interleaved; the median by wall time is
//                                   reported (default: 3 up to 100k records, 1 above)
//   --profile                       also run each measurement once more under the CPU profiler (inspector,
//                                   the measured work only) and summarize it; profiles stay in .bench-cache/profiles
//   --phases                        also run the export once more with Prisma query / JSON timers
//   --warm-export                   run one untimed whole export first in each export child (the
//                                   server's job path always runs a small one first: see server-job.ts)
//   --cold                          do not start Prisma's engine before the clock (see child.ts;
//                                   not for the server's job path, which a running server has warm)
//   --bundle                        run the children as one esbuild bundle under plain node instead of
//                                   `node --import tsx` (shows what the tsx loader costs in RSS)
//   --reseed                        rebuild the cached datasets
//   --variants "simplify;simplify,tree=dfs"   also measure experimental export variants
//                                   (bench/experiments/variant.ts; not part of the targets)
//   --node-flags="--max-old-space-size=96"   extra node flags for every child (experiments)
import { execFileSync, spawn } from "node:child_process";
import { createReadStream, existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import pg from "pg";
import type { Database } from "../src/config.js";
import { pgPoolConfig } from "../src/db/adapters.js";
import { modelInfos } from "../src/db/models.js";
import { KINDS, lineColumns } from "../src/engine/kinds/index.js";
import type { ScanTable } from "./baseline.js";
import { intList, stringList, type Args } from "./args.js";
import type { VariantOptions } from "./experiments/variant.js";
import { RESULT_PREFIX, type ChildResult, type ChildSpec, type Measure } from "./protocol.js";
import { CACHE_DIR, REPO, ensureCacheDir, postgresDataset, sqliteDataset, type Dataset, type DatabaseKind } from "./datasets.js";
import { printProfile } from "./profile.js";

export const DEFAULT_SCALES = [10_000, 100_000, 1_000_000];
const TARGET_RATIO = 0.6;
const TARGET_RSS_MIB = 200;
const TARGET_RSS_GROWTH = 1.25;

/** A measurement: the baseline, the export, or an experimental variant of the export. */
interface Plan {
  name: string;
  measure: Measure;
  variant?: VariantOptions;
}

interface Row {
  dataset: Dataset;
  name: string;
  measure: Measure;
  result: ChildResult;
  load: number;
  runs: number;
}

const CHILD = join(REPO, "bench", "child.ts");

/** With --bundle: the child as one ESM file run by plain node (no tsx loader thread in the process). */
let bundled: string | undefined;

function bundleChild(): string {
  const esbuild = join(REPO, "node_modules", ".bin", "esbuild");
  if (!existsSync(esbuild)) throw new Error("--bundle needs node_modules/.bin/esbuild (installed with tsx)");
  // under .bench-cache/<dir>/ so that src/db/migrations.ts still finds the project root two levels up
  const out = join(CACHE_DIR, "bundle", "child.mjs");
  execFileSync(esbuild, [CHILD, "--bundle", "--platform=node", "--format=esm", "--packages=external", `--outfile=${out}`, "--log-level=warning"], { stdio: "inherit" });
  return out;
}

/** Runs one measurement in a fresh node process; resolves with what it printed. */
export function runChild(spec: ChildSpec, nodeFlags: string[] = []): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const entry = bundled ? [bundled] : ["--import", "tsx", CHILD];
    const child = spawn(process.execPath, [...nodeFlags, ...entry, JSON.stringify(spec)], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "warn" },
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) return reject(new Error(`bench child (${spec.measure}) exited with ${code}\n${out}`));
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
    });
  });
}

/** Per kind, in archive order: the table and the columns an archive line carries (no owner; no vector, as without includeVectors). */
export function scanTables(provider: "sqlite" | "postgresql"): ScanTable[] {
  const infos = modelInfos(provider);
  return KINDS.map((kind) => {
    const cols = lineColumns(kind).filter((c) => c.field !== kind.vectorField);
    return { kind: kind.kind, table: infos.get(kind.model)!.table, columns: cols.map((c) => `"${c.column}"`).join(", ") };
  });
}

let coldStart = false;
let warmExport = false;

function specFor(dataset: Dataset, m: Measure, extra: Partial<ChildSpec> = {}): ChildSpec {
  const db = dataset.database;
  const base: ChildSpec = { measure: m, database: db, ownerId: dataset.ownerId, cold: coldStart, warmExport, ...extra };
  if (m !== "baseline") return base;
  return { ...base, tables: scanTables(db.provider), pool: db.provider === "postgresql" ? pgPoolConfig(db) : undefined };
}

/** Reads the data once so neither measurement pays for a cold cache. */
async function warm(dataset: Dataset): Promise<void> {
  const db = dataset.database;
  if (db.provider === "sqlite") {
    const s = createReadStream(db.file, { highWaterMark: 1 << 20 });
    s.resume();
    await finished(s);
    return;
  }
  const client = new pg.Client(pgPoolConfig(db));
  await client.connect();
  try {
    for (const k of KINDS) {
      const table = modelInfos("postgresql").get(k.model)!.table;
      await client.query(`SELECT count(*), sum(length(t::text)) FROM "${table}" t WHERE "ownerId" = $1`, [dataset.ownerId]);
    }
  } finally {
    await client.end();
  }
}

interface Run {
  result: ChildResult;
  /** 1-minute load average when the run ended: other work on the machine skews wall times */
  load: number;
}

/** Runs the measurements `repeat` times, interleaved (b, e, b, e...) so a busy spell hits both alike. */
async function measureAll(dataset: Dataset, plans: Plan[], repeat: number, nodeFlags: string[]): Promise<Row[]> {
  const runs = new Map<string, Run[]>(plans.map((p) => [p.name, []]));
  for (let i = 0; i < repeat; i++) {
    for (const p of plans) {
      const result = await runChild(specFor(dataset, p.measure, p.variant ? { variant: p.variant } : {}), nodeFlags);
      const load = loadavg()[0];
      process.stderr.write(
        `  ${dataset.kind} ${dataset.scale} ${p.name}${repeat > 1 ? ` #${i + 1}` : ""}: ${result.records} records in ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s), peak RSS ${result.maxRssMiB.toFixed(0)} MiB, load ${load.toFixed(1)}\n`,
      );
      runs.get(p.name)!.push({ result, load });
    }
  }
  return plans.map((p) => {
    const sorted = runs.get(p.name)!.sort((a, b) => a.result.seconds - b.result.seconds);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return { dataset, name: p.name, measure: p.measure, result: median.result, load: median.load, runs: repeat };
  });
}

/** `simplify,tree=dfs,pageSize=1000` → options (a bare name is `true`) */
function parseVariant(text: string): VariantOptions {
  const out: Record<string, unknown> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split("=");
    out[k] = v === undefined ? true : /^\d+$/.test(v) ? Number(v) : v;
  }
  return out as VariantOptions;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const MB = 1e6;

function printTable(rows: Row[]): void {
  console.log("\n## Export benchmark\n");
  console.log(
    "records/s and the ratio use the records each side wrote; output MB/s counts the bytes written to /dev/null " +
      "(the gzip stream for the baseline, the whole ZIP for the export); JSON MB/s counts the uncompressed JSON lines " +
      "(seen by the baseline only); CPU s is the child's user+system time over the work (all threads); load is the 1-minute " +
      "load average when the run ended (other work on the machine inflates wall times; the per-CPU-second ratio is the steadier one); peak RSS is the child's VmHWM (MiB), \"before work\" its peak once modules were loaded; " +
      "for export (the server's job path) they are the worker process's, CPU s is the server's and the worker's together, and the server process's own peak is in the last two columns; " +
      "wall time is the measured work only (connection, snapshot, queries, output), not process start" +
      (bundled ? "; children run as an esbuild bundle under plain node (no tsx)" : "; children run under `node --import tsx`, like `npm start`") +
      (warmExport ? "; each export child ran one untimed export first (JIT-warm)" : "") +
      (coldStart ? " — cold: the export includes Prisma's one-time engine start.\n" : "; Prisma's one-time engine start (≈0.4 s) happens before the clock, as in a running server (--cold to include it).\n"),
  );
  console.log(
    "| database | scale | measurement | records | wall s | CPU s | load | records/s | × baseline | × baseline per CPU s | output MB | output MB/s | JSON MB/s | peak RSS MiB | before work MiB | server peak RSS MiB | server before MiB |",
  );
  console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const r = row.result;
    const rps = r.records / r.seconds;
    const base = rows.find((b) => b.measure === "baseline" && b.dataset === row.dataset)?.result;
    const isExport = row.measure !== "baseline" && base;
    const ratio = isExport ? `${fmt(rps / (base.records / base.seconds), 2)}×` : "";
    const cpuRatio = isExport ? `${fmt(r.records / r.cpuSeconds / (base.records / base.cpuSeconds), 2)}×` : "";
    const cells = [
      row.dataset.kind,
      fmt(row.dataset.scale),
      `${row.name}${row.runs > 1 ? ` (median of ${row.runs})` : ""}`,
      fmt(r.records),
      fmt(r.seconds, 2),
      fmt(r.cpuSeconds, 2),
      fmt(row.load, 1),
      fmt(rps),
      ratio,
      cpuRatio,
      fmt(r.outputBytes / MB, 1),
      fmt(r.outputBytes / MB / r.seconds, 1),
      r.jsonBytes ? fmt(r.jsonBytes / MB / r.seconds, 1) : "",
      fmt(r.maxRssMiB, 1),
      fmt(r.setupRssMiB, 1),
      r.parentMaxRssMiB === undefined ? "" : fmt(r.parentMaxRssMiB, 1),
      r.parentSetupRssMiB === undefined ? "" : fmt(r.parentSetupRssMiB, 1),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}

function printTargets(rows: Row[], kinds: DatabaseKind[]): void {
  console.log("\n## Targets\n");
  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  for (const kind of kinds) {
    const ofKind = rows.filter((r) => r.dataset.kind === kind);
    for (const name of ["export", "export-driver"]) {
      const exp = (scale: number) => ofKind.find((r) => r.name === name && r.dataset.scale === scale);
      const runs = ofKind.filter((r) => r.name === name);
      if (!runs.length) continue;
      for (const e of runs) {
        const b = ofKind.find((r) => r.measure === "baseline" && r.dataset === e.dataset);
        if (!b) continue;
        const ratio = e.result.records / e.result.seconds / (b.result.records / b.result.seconds);
        console.log(`- ${verdict(ratio >= TARGET_RATIO)} ${kind} ${fmt(e.dataset.scale)}: ${name} records/s ≥ ${TARGET_RATIO}× baseline — ${fmt(ratio, 2)}×`);
      }
      const m1 = exp(1_000_000);
      const k100 = exp(100_000);
      const server = (r: Row) => (r.result.parentMaxRssMiB === undefined ? "" : `; the server process beside it: ${fmt(r.result.parentMaxRssMiB, 1)} MiB`);
      if (m1) console.log(`- ${verdict(m1.result.maxRssMiB <= TARGET_RSS_MIB)} ${kind}: ${name} peak RSS at 1M ≤ ${TARGET_RSS_MIB} MiB — ${fmt(m1.result.maxRssMiB, 1)} MiB (${fmt(m1.result.maxRssMiB - m1.result.setupRssMiB, 1)} MiB over the process before work${server(m1)})`);
      else console.log(`- n/a ${kind}: ${name} peak RSS at 1M ≤ ${TARGET_RSS_MIB} MiB — 1M not run`);
      if (m1 && k100) {
        const growth = m1.result.maxRssMiB / k100.result.maxRssMiB;
        console.log(
          `- ${verdict(growth <= TARGET_RSS_GROWTH)} ${kind}: ${name} RSS at 1M ≤ ${TARGET_RSS_GROWTH}× RSS at 100k — ${fmt(m1.result.maxRssMiB, 1)} / ${fmt(k100.result.maxRssMiB, 1)} = ${fmt(growth, 2)}×`,
        );
      } else console.log(`- n/a ${kind}: ${name} RSS at 1M ≤ ${TARGET_RSS_GROWTH}× RSS at 100k — needs both scales`);
    }
  }
  for (const e of rows.filter((r) => r.measure !== "baseline")) {
    const b = rows.find((r) => r.measure === "baseline" && r.dataset === e.dataset);
    if (b && b.result.records !== e.result.records)
      console.log(`- note: ${e.dataset.kind} ${fmt(e.dataset.scale)} ${e.name}: wrote ${e.result.records} records, the baseline scanned ${b.result.records}`);
    const real = rows.find((r) => r.name === "export" && r.dataset === e.dataset);
    if (real && real !== e) {
      const differ = Object.keys({ ...real.result.perKind, ...e.result.perKind }).filter((k) => real.result.perKind[k] !== e.result.perKind[k]);
      console.log(`- ${differ.length ? "MISMATCH" : "same records per kind as the export"}: ${e.dataset.kind} ${fmt(e.dataset.scale)} ${e.name}${differ.length ? ` (${differ.join(", ")})` : ""}`);
    }
  }
}

export async function runExportBench(args: Args): Promise<void> {
  const scales = intList(args.flags.get("scales"), DEFAULT_SCALES);
  const url = process.env.DATABASE_URL;
  const pgUrl = url && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
  const kinds = stringList(args.flags.get("databases"), pgUrl ? ["sqlite", "postgresql"] : ["sqlite"]) as DatabaseKind[];
  for (const k of kinds) if (k !== "sqlite" && k !== "postgresql") throw new Error(`unknown database ${k}`);
  if (kinds.includes("postgresql") && !pgUrl) throw new Error("--databases postgresql needs DATABASE_URL=postgresql://...");
  const measures = stringList(args.flags.get("measures"), ["baseline", "export", "export-driver"]) as Measure[];
  for (const m of measures) if (!["baseline", "export", "export-driver"].includes(m)) throw new Error(`unknown measure ${m}`);
  const variants = typeof args.flags.get("variants") === "string" ? (args.flags.get("variants") as string).split(";").filter(Boolean) : [];
  const plans: Plan[] = [
    ...measures.map((m) => ({ name: m, measure: m })),
    ...variants.map((v) => ({ name: `export [${v}]`, measure: "export" as const, variant: parseVariant(v) })),
  ];
  // medians of 3 where a run is cheap, one run at 1M (unless --repeat says otherwise)
  const repeatFlag = args.flags.get("repeat");
  const repeatFor = (scale: number) => (repeatFlag === undefined ? (scale <= 100_000 ? 3 : 1) : intList(repeatFlag, [1])[0]);
  const reseed = args.flags.has("reseed");
  coldStart = args.flags.has("cold");
  warmExport = args.flags.has("warm-export");
  ensureCacheDir();
  if (args.flags.has("bundle")) bundled = bundleChild();
  const profile = args.flags.has("profile");
  const phases = args.flags.has("phases");
  const nodeFlagsArg = args.flags.get("node-flags");
  const nodeFlags = typeof nodeFlagsArg === "string" ? nodeFlagsArg.split(/\s+/).filter(Boolean) : [];

  const rows: Row[] = [];
  const extras: (() => void)[] = [];
  for (const kind of kinds) {
    for (const scale of scales) {
      const dataset = kind === "sqlite" ? await sqliteDataset(scale, reseed) : await postgresDataset(pgUrl!, scale, reseed);
      process.stderr.write(`measuring ${kind} ${fmt(scale)} (${dataset.where}, ${fmt(dataset.seeded)} records seeded)\n`);
      await warm(dataset);
      rows.push(...(await measureAll(dataset, plans, repeatFor(scale), nodeFlags)));
      for (const p of phases ? plans.filter((p) => p.measure !== "baseline") : []) {
        const r = await runChild(specFor(dataset, p.measure, { phases: true, variant: p.variant }), nodeFlags);
        extras.push(() => {
          console.log(`\n### Export phases: ${p.name}, ${kind} ${fmt(scale)} (one extra run, ${fmt(r.seconds, 2)} s with timers)\n`);
          console.log("| phase | ms | calls |\n|---|---:|---:|");
          const ph = r.phases ?? {};
          for (const [k, v] of Object.entries(ph)) {
            if (k.endsWith(" calls")) continue;
            if (k.endsWith(" MiB")) console.log(`| ${k} | ${fmt(v)} MiB | |`);
            else if (v >= 5 || !k.startsWith("prisma ")) console.log(`| ${k.replace(/ ms$/, "")} | ${fmt(v)} | ${ph[k.replace(/ ms$/, " calls")] ?? ""} |`);
          }
        });
      }
      for (const p of profile ? plans : []) {
        const dir = join(CACHE_DIR, "profiles");
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `${p.name.replace(/[^a-z0-9=]+/gi, "-")}-${kind}-${scale}-${Date.now()}.cpuprofile`);
        await runChild(specFor(dataset, p.measure, { profile: file, variant: p.variant }), nodeFlags);
        extras.push(() => printProfile(`${p.name}, ${kind} ${fmt(scale)}`, file));
      }
    }
  }
  printTable(rows);
  printTargets(rows, kinds);
  for (const e of extras) e();
}

export type { Database };
