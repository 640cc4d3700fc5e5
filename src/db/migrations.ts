import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "../config.js";

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

export type Provider = Database["provider"];

export const providers: Provider[] = ["sqlite", "postgresql"];

export function schemaPath(provider: Provider): string {
  return join(projectRoot, provider === "sqlite" ? "prisma/schema.prisma" : "prisma/postgresql/schema.prisma");
}

export function migrationsDir(provider: Provider): string {
  return join(dirname(schemaPath(provider)), "migrations");
}

export function readSchema(provider: Provider) {
  const path = schemaPath(provider);
  return { path, content: readFileSync(path, "utf8") };
}

// The schema each migration was generated from is kept beside its SQL, so the
// next migration is a datamodel-to-datamodel diff with no shadow database.
export const SNAPSHOT = "schema.snapshot.prisma";

export function listMigrations(provider: Provider) {
  const baseDir = migrationsDir(provider);
  const dirs = existsSync(baseDir)
    ? readdirSync(baseDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
  const lockPath = join(baseDir, "migration_lock.toml");
  return {
    baseDir,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: dirs.map((name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: readFileSync(join(baseDir, name, "migration.sql"), "utf8") },
      },
    })),
  };
}

export function lastSnapshot(provider: Provider): string | undefined {
  const list = listMigrations(provider).migrationDirectories;
  const last = list.at(-1);
  if (!last) return undefined;
  const path = join(migrationsDir(provider), last.path, SNAPSHOT);
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}
