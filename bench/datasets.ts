// Seeded benchmark databases, cached between runs: one SQLite file per scale
// under <repo>/.bench-cache/, one schema per scale (bench_<scale>) on the
// PostgreSQL server of DATABASE_URL. A dataset is rebuilt when the schema,
// the migrations or the seed code change (the cache key), or with --reseed.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Sqlite from "better-sqlite3";
import pg from "pg";
import type { Database } from "../src/config.js";
import { createUser } from "../src/auth/users.js";
import { pgPoolConfig } from "../src/db/adapters.js";
import { openDb } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { seedDemo } from "../src/seed/index.js";

export const REPO = resolve(import.meta.dirname, "..");
export const CACHE_DIR = join(REPO, ".bench-cache");
export const BENCH_EMAIL = "bench@stowage.local";
export const SEED = 1;

export type DatabaseKind = "sqlite" | "postgresql";

export interface Dataset {
  kind: DatabaseKind;
  scale: number;
  database: Database;
  ownerId: string;
  /** records the seed wrote */
  seeded: number;
  /** a human name for reports: the file or the schema */
  where: string;
}

interface Meta {
  key: string;
  ownerId: string;
  seeded: number;
  seconds: number;
}

export function ensureCacheDir(): void {
  mkdirSync(CACHE_DIR, { recursive: true });
  // self-ignoring, like .pytest_cache: nothing here ever shows up in git
  const ignore = join(CACHE_DIR, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "# benchmark cache (npm run bench), safe to delete\n*\n");
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** What the seeded data depends on: schema, migrations, seed code. */
let cachedKey: string | undefined;
export function datasetKey(): string {
  if (cachedKey) return cachedKey;
  const h = createHash("sha256");
  const files = [join(REPO, "prisma/schema.prisma"), ...filesUnder(join(REPO, "prisma/migrations")), ...filesUnder(join(REPO, "src/seed"))];
  for (const f of files) h.update(f.slice(REPO.length)).update("\0").update(readFileSync(f)).update("\0");
  cachedKey = h.digest("hex").slice(0, 16);
  return cachedKey;
}

function readMeta(path: string): Meta | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Meta;
  } catch {
    return undefined;
  }
}

function progressPrinter(label: string) {
  let last = 0;
  return ({ written, expected }: { written: number; expected: number }) => {
    const now = Date.now();
    if (now - last < 2000) return;
    last = now;
    process.stderr.write(`  seeding ${label}: ${written.toLocaleString("en")} / ~${expected.toLocaleString("en")}\n`);
  };
}

async function seedInto(database: Database, scale: number, label: string): Promise<Omit<Meta, "key">> {
  const t0 = performance.now();
  await migrate(database);
  const handle = await openDb(database);
  try {
    const { user } = await createUser(handle.db, { email: BENCH_EMAIL });
    const result = await seedDemo(handle.db, { userId: user.id, scale, seed: SEED, onProgress: progressPrinter(label) });
    return { ownerId: user.id, seeded: result.total, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await handle.close();
  }
}

export async function sqliteDataset(scale: number, reseed: boolean): Promise<Dataset> {
  ensureCacheDir();
  const file = join(CACHE_DIR, `sqlite-${scale}.db`);
  const metaFile = join(CACHE_DIR, `sqlite-${scale}.json`);
  const key = datasetKey();
  let meta = readMeta(metaFile);
  if (reseed || !meta || meta.key !== key || !existsSync(file)) {
    process.stderr.write(`preparing SQLite dataset, scale ${scale.toLocaleString("en")} (cached in ${file})\n`);
    const tmp = `${file}.tmp`;
    for (const f of [file, tmp]) for (const s of ["", "-wal", "-shm"]) rmSync(f + s, { force: true });
    rmSync(metaFile, { force: true });
    const seeded = await seedInto({ provider: "sqlite", file: tmp }, scale, `sqlite ${scale}`);
    // fold the WAL into the file so one file is the whole dataset
    const raw = new Sqlite(tmp);
    raw.pragma("wal_checkpoint(TRUNCATE)");
    raw.close();
    for (const s of ["-wal", "-shm"]) rmSync(tmp + s, { force: true });
    renameSync(tmp, file);
    meta = { key, ...seeded };
    writeFileSync(metaFile, JSON.stringify(meta, null, 2) + "\n");
    process.stderr.write(`  seeded ${meta.seeded.toLocaleString("en")} records in ${meta.seconds.toFixed(1)} s\n`);
  }
  return { kind: "sqlite", scale, database: { provider: "sqlite", file }, ownerId: meta.ownerId, seeded: meta.seeded, where: file };
}

function pgClient(database: Extract<Database, { provider: "postgresql" }>): pg.Client {
  return new pg.Client({ ...pgPoolConfig(database), options: undefined });
}

/** The dataset's key and owner live in the schema itself, so the cache follows the server. */
export async function postgresDataset(url: string, scale: number, reseed: boolean): Promise<Dataset> {
  const schema = `bench_${scale}`;
  const u = new URL(url);
  u.searchParams.set("schema", schema);
  const database: Extract<Database, { provider: "postgresql" }> = { provider: "postgresql", url: u.toString(), schema };
  const key = datasetKey();
  const client = pgClient(database);
  await client.connect();
  try {
    let meta: Meta | undefined;
    if (!reseed) {
      const found = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = '_bench_meta'`, [schema]);
      if (found.rowCount) {
        const row = (await client.query(`SELECT meta FROM "${schema}"."_bench_meta"`)).rows[0] as { meta: Meta } | undefined;
        if (row?.meta.key === key) meta = row.meta;
      }
    }
    if (!meta) {
      process.stderr.write(`preparing PostgreSQL dataset, scale ${scale.toLocaleString("en")} (schema ${schema})\n`);
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      const seeded = await seedInto(database, scale, `postgresql ${scale}`);
      meta = { key, ...seeded };
      await client.query(`CREATE TABLE "${schema}"."_bench_meta" (meta jsonb NOT NULL)`);
      await client.query(`INSERT INTO "${schema}"."_bench_meta" (meta) VALUES ($1)`, [JSON.stringify(meta)]);
      // what autovacuum would do shortly after a bulk load, done now so runs compare
      const tables = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema]);
      for (const t of tables.rows as { table_name: string }[]) await client.query(`ANALYZE "${schema}"."${t.table_name}"`);
      process.stderr.write(`  seeded ${meta.seeded.toLocaleString("en")} records in ${meta.seconds.toFixed(1)} s\n`);
    }
    return { kind: "postgresql", scale, database, ownerId: meta.ownerId, seeded: meta.seeded, where: `${u.host}${u.pathname} schema ${schema}` };
  } finally {
    await client.end();
  }
}
