import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../src/db/client.js";
import { driftFromSchema, migrate, stripComments } from "../src/db/migrate.js";
import { lastSnapshot, listMigrations, migrationsDir, projectRoot, providers, readSchema } from "../src/db/migrations.js";
import { openSchemaEngine } from "../src/db/schema-engine.js";
import { adapterFactory } from "../src/db/adapters.js";
// @ts-expect-error plain .mjs script without types
import { derivePostgresSchema } from "../scripts/prisma-generate.mjs";
import { testDatabase, type TestDatabase } from "./support/database.js";

const run = promisify(execFile);

let tdb: TestDatabase;
beforeAll(() => {
  tdb = testDatabase();
});
afterAll(() => tdb.drop());

describe("migrations", () => {
  it("apply to an empty database, record themselves like `prisma migrate deploy`, and re-run as a no-op", async () => {
    const applied = await migrate(tdb.database);
    const expected = listMigrations(tdb.database.provider).migrationDirectories.map((d) => d.path);
    expect(applied).toEqual(expected);
    expect(await migrate(tdb.database)).toEqual([]);

    const { db, close } = await openDb(tdb.database);
    try {
      const rows = await db.$queryRawUnsafe<{ migration_name: string; checksum: string; finished_at: unknown }[]>(
        `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`,
      );
      expect(rows.map((r) => r.migration_name)).toEqual(expected);
      for (const r of rows) {
        const sql = readFileSync(join(migrationsDir(tdb.database.provider), r.migration_name, "migration.sql"));
        expect(r.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
        expect(r.finished_at).not.toBeNull();
      }
    } finally {
      await close();
    }
  });

  it("leave no timer holding the process once they are done (a CLI command on PostgreSQL lingered 10 s)", async () => {
    // a fresh process: this one holds the timers of everything the suite opened before
    const script = `
      const { migrate, driftFromSchema } = await import(${JSON.stringify(pathToFileURL(join(projectRoot, "src/db/migrate.ts")).href)});
      const database = JSON.parse(process.env.STOWAGE_TEST_DATABASE);
      await migrate(database);
      await driftFromSchema(database);
      console.log(JSON.stringify(process.getActiveResourcesInfo().filter((r) => r === "Timeout")));
      process.exit(0);`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: projectRoot,
      env: { ...process.env, STOWAGE_TEST_DATABASE: JSON.stringify(tdb.database) },
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual([]);
  });

  it("leave the database exactly as schema.prisma describes it", async () => {
    expect(await driftFromSchema(tdb.database)).toBe("");
  });

  it("detect a schema change that has no migration", async () => {
    const changed = readSchema(tdb.database.provider).content.replace("model App {\n", "model App {\n  color String?\n");
    expect(await driftFromSchema(tdb.database, changed)).toMatch(/color/);
  });

  it("of every provider end at the current schema (datamodel diff from the last snapshot)", async () => {
    for (const provider of providers) {
      const schema = readSchema(provider);
      const snapshot = lastSnapshot(provider);
      expect(snapshot, `${provider} has a migration snapshot`).toBeDefined();
      const engine = await openSchemaEngine(schema, adapterFactory({ provider: "sqlite", file: ":memory:" }) as never);
      const out = await engine.diff({
        from: { tag: "schemaDatamodel", files: [{ path: schema.path, content: snapshot! }] },
        to: { tag: "schemaDatamodel", files: [schema] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      engine.free();
      expect(stripComments(out.stdout ?? ""), `${provider}: run npm run db:migration -- NAME`).toBe("");
    }
  });

  it("keep the derived PostgreSQL schema in step with the canonical one", () => {
    const canonical = readFileSync(join(projectRoot, "prisma/schema.prisma"), "utf8");
    expect(readFileSync(join(projectRoot, "prisma/postgresql/schema.prisma"), "utf8")).toBe(derivePostgresSchema(canonical));
  });
});
