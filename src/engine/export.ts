// Streaming export: one owner's selected records into a ZIP, JSONL or
// OpenMemory archive, written to any Writable. Callers run it inside a
// snapshot (see snapshot.ts) so the archive is one consistent state.
import { once } from "node:events";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Db } from "../db/client.js";
import { NotFoundError } from "./errors.js";
import type { ExportFilter } from "./kinds/index.js";
import { countSelected, exportOwner, selectedRecords, type KindCounts } from "./records.js";
import { FORMAT_NAME, FORMAT_VERSION, GENERATOR, MANIFEST_PATH, RECORDS_PATH, type Manifest, type MetadataLine } from "./archive/format.js";
import { jsonlChunks, measured, type Digest, type LineStats } from "./archive/lines.js";
import { writeOpenMemory } from "./archive/openmemory-writer.js";

export type ExportFormat = "ZIP" | "JSONL" | "OPENMEMORY";

export interface ExportOptions {
  ownerId: string;
  filter: ExportFilter;
  format: ExportFormat;
  /** JSONL only: gzip the lines (default true) */
  gzip?: boolean;
  now?: Date;
  /** records written so far, and the total the export will write */
  onProgress?: (written: number, total: number) => void;
}

export interface ExportResult {
  counts: KindCounts;
  records: number;
  total: number;
}

/** The filter as it is written into archives: dates as ISO strings, nothing unset. */
export function describeFilter(filter: ExportFilter): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filter)
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && !v.length))
      .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
  );
}

export function archiveFilename(format: ExportFormat, email: string, now: Date, gzip = true): string {
  const stamp = now.toISOString().replace(/[:]/g, "").replace(/\.\d+Z$/, "Z");
  if (format === "OPENMEMORY") return `memories_export_${email}.zip`;
  if (format === "JSONL") return `stowage-${email}-${stamp}.jsonl${gzip ? ".gz" : ""}`;
  return `stowage-${email}-${stamp}.zip`;
}

/**
 * Passes chunks through, letting the event loop turn after each. Reading a
 * page and building its lines is synchronous work chained by promises, which
 * would otherwise keep zlib's completions (gzip runs on the thread pool)
 * waiting until the producer stalls on backpressure: compression then takes
 * turns with the main thread instead of running beside it on the other core.
 */
async function* turnTaking(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    yield chunk;
    await nextTurn();
  }
}

// zlib runs one job per write on the thread pool and needs the main thread to
// start the next: few large jobs overlap with line building, many small ones
// mostly wait for it. Two in flight at most, so memory stays a few MiB.
const GZIP_BATCH = 256 * 1024;

async function* batched(chunks: AsyncIterable<Buffer>, bytes: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const c of chunks) {
    parts.push(c);
    size += c.length;
    if (size >= bytes) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size) yield Buffer.concat(parts, size);
}

/** The lines gzipped (level 1, as gzipped() does), compressed beside the main thread's work. */
function compressedLines(chunks: AsyncIterable<Buffer>): Readable {
  const gz = createGzip({ level: 1, chunkSize: GZIP_BATCH });
  // a failing source fails the gzip stream, so whoever reads it sees the error
  pipeline(Readable.from(batched(turnTaking(chunks), GZIP_BATCH), { highWaterMark: 2 }), gz).catch(() => {});
  return gz;
}

export async function writeExport(db: Db, options: ExportOptions, sink: Writable): Promise<ExportResult> {
  // OpenMemory's layout carries the whole user; the native formats only its ids (read without Prisma, like the records)
  const owner =
    options.format === "OPENMEMORY" ? await db.user.findUnique({ where: { id: options.ownerId } }) : await exportOwner(db, options.ownerId);
  if (!owner) throw new NotFoundError(`no user ${options.ownerId}`);
  const now = options.now ?? new Date();
  const filter = options.filter;
  const planned = await countSelected(db, owner.id, filter);
  const total = Object.values(planned).reduce((a, b) => a + (b ?? 0), 0);
  let written = 0;
  const progress = (n: number) => {
    written += n;
    options.onProgress?.(written, total);
  };
  options.onProgress?.(0, total);

  if (options.format === "OPENMEMORY") {
    const counts = await writeOpenMemory(db, { owner: owner as Parameters<typeof writeOpenMemory>[1]["owner"], filter, now, onRecords: progress }, sink);
    return { counts, records: written, total };
  }

  const metadata: MetadataLine = {
    exporterUserId: owner.id,
    exportVersion: String(FORMAT_VERSION),
    exportedAt: now.toISOString(),
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    generator: GENERATOR,
    filter: describeFilter(filter),
  };
  const stats: LineStats = { lines: 0, counts: {} };
  const lines = jsonlChunks(metadata, selectedRecords(db, owner.id, filter), stats, progress);

  if (options.format === "JSONL") {
    await pipeline(options.gzip === false ? Readable.from(lines) : compressedLines(lines), sink);
    return { counts: stats.counts, records: written, total };
  }

  // loaded here, not with the module: a worker that imports never needs it (~200 ms of its start)
  const { ZipArchive } = await import("archiver");
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const done = pipeline(zip, sink);
  const digest: Digest = { bytes: 0, sha256: "" };
  const records = Readable.from(measured(compressedLines(lines), digest));
  // already compressed: stored, not deflated twice
  zip.append(records, { name: RECORDS_PATH, store: true, date: now });
  const failed = once(records, "error").then(([e]) => {
    zip.abort();
    throw e;
  });
  await Promise.race([once(records, "end"), failed, done]);
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    generatedAt: now.toISOString(),
    generator: GENERATOR,
    exporter: { userId: owner.id, externalId: owner.externalId ?? null },
    filter: describeFilter(filter),
    counts: stats.counts,
    files: [{ path: RECORDS_PATH, bytes: digest.bytes, sha256: digest.sha256, lines: stats.lines }],
  };
  zip.append(Buffer.from(JSON.stringify(manifest, null, 2) + "\n"), { name: MANIFEST_PATH, date: now });
  await zip.finalize();
  await done;
  return { counts: stats.counts, records: written, total };
}
