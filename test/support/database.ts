import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { databaseFromUrl, type Database } from "../../src/config.js";
import { pgPoolConfig } from "../../src/db/adapters.js";

export interface TestDatabase {
  database: Database;
  dataDir: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: a temporary SQLite file, or a new
 * schema on the PostgreSQL server named by DATABASE_URL (never skipped: if the
 * server is unreachable the tests fail).
 */
export function testDatabase(): TestDatabase {
  const dataDir = mkdtempSync(join(tmpdir(), "stowage-test-"));
  const url = process.env.DATABASE_URL;
  if (url && /^postgres/.test(url)) {
    const schema = `t_${randomBytes(6).toString("hex")}`;
    const u = new URL(url);
    u.searchParams.set("schema", schema);
    const database = databaseFromUrl(u.toString(), dataDir);
    return {
      database,
      dataDir,
      drop: async () => {
        const client = new pg.Client({ ...pgPoolConfig(database as Extract<Database, { provider: "postgresql" }>), options: undefined });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  return {
    database: databaseFromUrl(undefined, dataDir),
    dataDir,
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
