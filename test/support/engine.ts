// Engine-level tests: a runtime over a fresh database, exports read back as
// lines, and lines fed to the importer as a source.
import { PassThrough } from "node:stream";
import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../src/config.js";
import { writeExport } from "../../src/engine/export.js";
import type { LineSource, ParsedLine } from "../../src/engine/import/types.js";
import { ALL_SECTIONS } from "../../src/engine/kinds/index.js";
import { withSnapshot } from "../../src/engine/snapshot.js";
import { createLogger } from "../../src/logger.js";
import { openRuntime, type Runtime } from "../../src/runtime.js";
import { readNative, type Line } from "./archive.js";
import { testDatabase, type TestDatabase } from "./database.js";

/** Opens a runtime before the file's tests and closes it after; read `.rt` inside tests. */
export function engineRuntime(): { rt: Runtime } {
  const holder = {} as { rt: Runtime };
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = testDatabase();
    const config = loadConfig({ DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent" });
    config.database = tdb.database;
    holder.rt = await openRuntime({ config, logger: createLogger("silent") });
  });
  afterAll(async () => {
    await holder.rt.close();
    await tdb.drop();
  });
  return holder;
}

/** Everything a user owns, as the lines of a native export (vectors included). */
export async function exportLines(rt: Runtime, ownerId: string): Promise<Line[]> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  await withSnapshot(rt.config.database, (db) => writeExport(db, { ownerId, filter: { sections: [...ALL_SECTIONS], includeVectors: true }, format: "ZIP" }, sink));
  return (await readNative(Buffer.concat(chunks))).lines;
}

export function lineSource(lines: readonly { type: string; data: Record<string, unknown> }[], batchLines = Infinity): LineSource {
  return async function* () {
    // new objects every pass, as a file read again gives them: the import may change what it is handed
    const parsed = lines.map((l, i): ParsedLine => ({ ok: true, line: i + 1, type: l.type, data: structuredClone(l.data) }));
    for (let i = 0; i < parsed.length; i += batchLines) yield parsed.slice(i, i + batchLines);
  };
}
