// Generates both Prisma clients offline. The PostgreSQL schema is derived from
// the canonical SQLite one, because a generated client is bound to one provider
// and `provider` cannot come from the environment.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const canonical = join(root, "prisma/schema.prisma");
const derived = join(root, "prisma/postgresql/schema.prisma");

export function derivePostgresSchema(text) {
  return (
    "// GENERATED from prisma/schema.prisma by scripts/prisma-generate.mjs: do not edit.\n" +
    text
      // one set of Pothos types serves both clients: the models are the same
      .replace(/generator pothos \{[^}]*\}\n\n/, "")
      .replace('provider = "sqlite"', 'provider = "postgresql"')
      .replace('output               = "../src/generated/sqlite"', 'output               = "../../src/generated/postgresql"')
  );
}

function main() {
  mkdirSync(dirname(derived), { recursive: true });
  const pg = derivePostgresSchema(readFileSync(canonical, "utf8"));
  if (!pg.includes('provider = "postgresql"') || !pg.includes("generated/postgresql")) {
    throw new Error("could not derive the PostgreSQL schema: generator or datasource block changed shape");
  }
  if (!existsSync(derived) || readFileSync(derived, "utf8") !== pg) writeFileSync(derived, pg);

  // `prisma generate` never runs the schema engine, but the CLI insists on
  // finding one and would download it; any existing executable satisfies it.
  const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1", PATH: `${join(root, "node_modules/.bin")}${delimiter}${process.env.PATH ?? ""}`, CHECKPOINT_DISABLE: "1" };
  const cli = join(root, "node_modules/prisma/build/index.js");
  for (const schema of [canonical, derived]) {
    execFileSync(process.execPath, [cli, "generate", "--schema", schema], { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
