import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command, Option } from "commander";
import { archiveFilename, writeExport, type ExportFormat } from "../engine/export.js";
import { NotFoundError } from "../engine/errors.js";
import { resolveExportFilter } from "../engine/filter.js";
import { SECTIONS, type Section } from "../engine/kinds/index.js";
import { exportSnapshot } from "../engine/snapshot.js";
import { openRuntime } from "../runtime.js";
import { progressReporter } from "./progress.js";

interface ExportCliOptions {
  user: string;
  format: "zip" | "jsonl" | "openmemory";
  sections?: string;
  app?: string;
  from?: string;
  to?: string;
  includeVectors: boolean;
  includeInterpolated: boolean;
  out?: string;
  json: boolean;
}

function date(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(/^\d+$/.test(value) ? Number(value) * 1000 : value);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag}: not a date: ${value} (ISO-8601 or unix seconds)`);
  return d;
}

export function exportCommand(): Command {
  return new Command("export")
    .description("export a user's data to an archive, straight from the database (no server needed)")
    .requiredOption("--user <email>", "whose data")
    .addOption(new Option("--format <format>", "archive format").choices(["zip", "jsonl", "openmemory"]).default("zip"))
    .option("--sections <list>", `comma-separated: ${SECTIONS.join(",")} (default: all)`)
    .option("--app <id>", "memories of this app only")
    .option("--from <time>", "createdAt on or after (ISO-8601 or unix seconds)")
    .option("--to <time>", "createdAt on or before (ISO-8601 or unix seconds)")
    .option("--include-vectors", "memory embeddings as base64 float32", false)
    .option("--include-interpolated", "interpolated boxes too, not only keyframes", false)
    .option("--out <file>", "where to write (default: a name in the current directory)")
    .option("--json", "print the summary as one JSON line", false)
    .action(async (o: ExportCliOptions) => {
      const rt = await openRuntime();
      try {
        const user = await rt.db.user.findUnique({ where: { email: o.user.trim().toLowerCase() } });
        if (!user) throw new NotFoundError(`no user with email ${o.user}`);
        const sections = o.sections?.split(",").map((s) => s.trim().toUpperCase()) as Section[] | undefined;
        const filter = await resolveExportFilter(rt.db, user.id, {
          sections,
          appId: o.app,
          from: date("--from", o.from),
          to: date("--to", o.to),
          includeVectors: o.includeVectors,
          includeInterpolated: o.includeInterpolated,
        });
        const format = o.format.toUpperCase() as ExportFormat;
        const now = new Date();
        const out = o.out ?? archiveFilename(format, user.email, now);
        const partial = `${out}.partial`;
        const hash = createHash("sha256");
        let bytes = 0;
        const measure = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            bytes += chunk.length;
            cb(null, chunk);
          },
        });
        const written = pipeline(measure, createWriteStream(partial));
        const progress = progressReporter("exporting", "records", o.json);
        const started = performance.now();
        let result;
        try {
          result = await exportSnapshot(format)(rt.config.database, (db) =>
            writeExport(db, { ownerId: user.id, filter, format, now, onProgress: (done, total) => progress.update(done, total) }, measure),
          );
          await written;
        } catch (err) {
          await rm(partial, { force: true });
          throw err;
        } finally {
          progress.stop();
        }
        // only a complete archive gets the name
        await rename(partial, out);
        const summary = { file: out, format, records: result.records, bytes, sha256: hash.digest("hex"), elapsedMs: Math.round(performance.now() - started), counts: result.counts };
        if (o.json) console.log(JSON.stringify(summary));
        else console.log(`wrote ${summary.file}: ${summary.records} records, ${summary.bytes} bytes, sha256 ${summary.sha256}, ${(summary.elapsedMs / 1000).toFixed(1)}s`);
      } finally {
        await rt.close();
      }
    });
}
