// npm run schema:print            writes schema.graphql
// npm run schema:print -- --check fails when schema.graphql is not current
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { lexicographicSortSchema, printSchema } from "graphql";
import { schema } from "../src/graphql/schema/index.js";
import { projectRoot } from "../src/db/migrations.js";

const path = join(projectRoot, "schema.graphql");
const text = printSchema(lexicographicSortSchema(schema)) + "\n";
if (process.argv.includes("--check")) {
  if (!existsSync(path) || readFileSync(path, "utf8") !== text) {
    console.error("schema.graphql is out of date with the Pothos schema: run `npm run schema:print` and commit it");
    process.exit(1);
  }
  console.log("schema.graphql is current");
} else {
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
