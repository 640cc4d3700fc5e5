// Driver-level reads on the very connection a Prisma client (or its
// interactive transaction) uses, for the few hot paths where Prisma's row
// mapping costs more than the query (an export reads every row a user owns).
// A reader belongs to a client: `openDb` and `withSnapshot` register one for
// each client they hand out, so a read through it sees exactly what Prisma
// would see there (the snapshot's transaction included).
import type { Database as SqliteDb, Statement } from "better-sqlite3";
import type { PoolClient, QueryArrayConfig } from "pg";
import type { Provider } from "./migrations.js";

export interface RawReader {
  readonly provider: Provider;
  /** PostgreSQL schema the tables live in (qualified explicitly: a pool's search_path is not ours to trust) */
  readonly schema?: string;
  /** rows as arrays, in select order; values as the driver gives them (see decode.ts) */
  rows(sql: string, params: readonly unknown[]): Promise<unknown[][]>;
}

/** What pg.Pool and pg.PoolClient both offer. */
export interface PgQueryable {
  query(config: QueryArrayConfig): Promise<{ rows: unknown[][] }>;
}

// Dates and int8 arrive as text: pg's own Date parsing reads `timestamp` in the
// process's time zone, and Prisma stores UTC there (decode.ts does the rest).
const TEXT_OIDS = new Set([20, 1082, 1114, 1184]);
let pgTypes: QueryArrayConfig["types"] | undefined;

async function pgTypeParsers(): Promise<NonNullable<QueryArrayConfig["types"]>> {
  if (pgTypes) return pgTypes;
  const { default: pg } = await import("pg");
  const text = (v: string) => v;
  pgTypes = { getTypeParser: ((oid: number, format?: string) => (TEXT_OIDS.has(oid) ? text : pg.types.getTypeParser(oid, format as "text"))) as never };
  return pgTypes;
}

// Statements are prepared once per SQL text; page queries repeat it, IN lists of
// varying length do not, so the cache is bounded.
const MAX_STATEMENTS = 256;

export function sqliteReader(db: SqliteDb): RawReader {
  const cache = new Map<string, Statement>();
  return {
    provider: "sqlite",
    rows(sql, params) {
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= MAX_STATEMENTS) cache.clear();
        // Prisma's adapter turns safe integers on for the whole connection; BigInt columns are rare and decoded anyway
        stmt = db.prepare(sql).raw(true).safeIntegers(false);
        cache.set(sql, stmt);
      }
      return Promise.resolve(stmt.all(...params) as unknown[][]);
    },
  };
}

export function pgReader(client: PgQueryable, schema: string): RawReader {
  return {
    provider: "postgresql",
    schema,
    async rows(sql, params) {
      const types = await pgTypeParsers();
      const res = await client.query({ text: sql, values: params as unknown[], rowMode: "array", types });
      return res.rows;
    },
  };
}

// ---------------------------------------------------------------- registry

const readers = new WeakMap<object, () => Promise<RawReader>>();

/** Makes `reader` the driver-level reader of `client` (a Prisma client or transaction client). */
export function registerReader(client: object, reader: () => Promise<RawReader>): void {
  let made: Promise<RawReader> | undefined;
  readers.set(client, () => (made ??= reader()));
}

/** Lets a wrapper of a client (a proxy that times its queries, say) read like the client it wraps. */
export function shareReader(wrapper: object, client: object): void {
  const r = readers.get(client);
  if (r) readers.set(wrapper, r);
}

export async function rawReader(client: object): Promise<RawReader> {
  const r = readers.get(client);
  if (!r) throw new Error("no driver-level reader for this database client: open it with openDb or withSnapshot");
  return r();
}

export type { PoolClient };
