import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { Database } from "../config.js";
import { adapterFactory } from "./adapters.js";
import { listMigrations, readSchema, type Provider } from "./migrations.js";
import { openSchemaEngine, type SchemaEngine } from "./schema-engine.js";

const filters = { externalTables: [], externalEnums: [] };

type PgIO = { performIO?: (...args: unknown[]) => Promise<{ fields: { dataTypeID: number }[] }> };
const PG_CHAR = 18;
const PG_TEXT = 25;

// PostgreSQL catalog columns of type "char" (oid 18) are rejected by the pg
// adapter when the engine describes a schema; they hold plain text.
function readCharAsText<T extends { provider: string }>(adapter: T): T {
  if (adapter.provider !== "postgres") return adapter;
  const io = adapter as unknown as PgIO;
  const original = io.performIO?.bind(adapter);
  if (original) {
    io.performIO = async (...args) => {
      const result = await original(...args);
      for (const f of result.fields) if (f.dataTypeID === PG_CHAR) f.dataTypeID = PG_TEXT;
      return result;
    };
  }
  return adapter;
}

type Executes = { executeRaw(q: { sql: string }): Promise<number> };

// On SQLite the engine takes `locking_mode=EXCLUSIVE` for the life of its
// connection, which blocks (and times out) whenever a server already has the
// file open — and the CLI must work beside a running server. Each migration
// still runs in its own transaction under SQLite's normal write lock.
function sharedSqliteLock<T extends { provider: string }>(adapter: T): T {
  if (adapter.provider !== "sqlite") return adapter;
  const a = adapter as unknown as Executes;
  const original = a.executeRaw.bind(adapter);
  a.executeRaw = (q) => (/^\s*PRAGMA\s+main\.locking_mode\s*=\s*EXCLUSIVE/i.test(q.sql) ? Promise.resolve(0) : original(q));
  return adapter;
}

// The engine leaves the connections it opened behind (on SQLite they keep a
// write lock); track them so they can be closed when the engine is freed.
function tracked(factory: SqlMigrationAwareDriverAdapterFactory) {
  const opened: { dispose(): Promise<void> }[] = [];
  const wrapped = Object.create(factory) as SqlMigrationAwareDriverAdapterFactory;
  wrapped.connect = async () => {
    const a = sharedSqliteLock(readCharAsText(await factory.connect()));
    opened.push(a);
    return a;
  };
  wrapped.connectToShadowDb = async () => {
    const a = readCharAsText(await factory.connectToShadowDb());
    opened.push(a);
    return a;
  };
  return { factory: wrapped, dispose: () => Promise.allSettled(opened.map((a) => a.dispose())) };
}

export async function withSchemaEngine<T>(db: Database, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { factory, dispose } = tracked(adapterFactory(db) as SqlMigrationAwareDriverAdapterFactory);
  const engine = await openSchemaEngine(readSchema(db.provider), factory);
  try {
    return await fn(engine);
  } finally {
    engine.free();
    await dispose();
  }
}

export async function ensureSchema(db: Database): Promise<void> {
  if (db.provider !== "postgresql" || db.schema === "public") return;
  const { default: pg } = await import("pg");
  const { pgPoolConfig } = await import("./adapters.js");
  const client = new pg.Client({ ...pgPoolConfig(db), options: undefined });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${db.schema.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/** Applies pending migrations; returns the names of those applied now. */
export async function migrate(db: Database): Promise<string[]> {
  await ensureSchema(db);
  return withSchemaEngine(db, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: listMigrations(db.provider), filters });
    return out.appliedMigrationNames;
  });
}

/** SQL that would bring the live database to the schema; empty when they agree. */
export async function driftFromSchema(db: Database, schemaContent?: string): Promise<string> {
  return withSchemaEngine(db, async (engine) => {
    const current = readSchema(db.provider);
    const schema = { path: current.path, content: schemaContent ?? current.content };
    const out = await engine.diff({
      from: { tag: "schemaDatasource", files: [schema], configDir: "." } as never,
      to: { tag: "schemaDatamodel", files: [schema] },
      script: true,
      exitCode: null,
      filters,
    });
    return stripComments(out.stdout ?? "");
  });
}

export function stripComments(sql: string): string {
  return sql
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("--"))
    .join("\n");
}

export type { Provider };
