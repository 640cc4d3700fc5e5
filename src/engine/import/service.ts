// Imports as the shells start them: an archive file on disk, a target user,
// options; preview answers with the plan, import also keeps a history record
// — failed imports included.
import type { Config } from "../../config.js";
import type { Db } from "../../db/client.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import { FORMAT_NAME } from "../archive/format.js";
import { canonicalType, openArchive, parseLine, type OpenedArchive, type ParsedLine, type RawLine } from "../archive/reader.js";
import { foveaContext, foveaMapper, isNativeHead, type LineMapper } from "../adapters/fovea.js";
import { openMemorySource } from "../adapters/openmemory.js";
import { InvalidArchiveError, StowageError } from "../errors.js";
import { MAX_WARNINGS, type ImportPlan } from "./plan.js";
import { preview, runImport } from "./run.js";
import type { ImportOptions, LineSource } from "./types.js";

export type HistoryFormat = "ZIP" | "JSONL" | "OPENMEMORY" | "FOVEA";

export interface ArchiveFile {
  path: string;
  filename: string;
  sha256: string;
  byteSize: number | bigint;
}

/**
 * The parsed lines of an archive. A JSONL that does not open with stowage's
 * own metadata line (FOVEA's export has none, or FOVEA's) goes through the
 * FOVEA adapter, which leaves lines already in our shape as they are.
 */
export function lineSource(archive: OpenedArchive): LineSource {
  // what the reads learn about a FOVEA file (which entities are locations), shared by all of them
  const fovea = foveaContext();
  async function* read(heads: boolean, wanted?: (line: number) => boolean) {
    // native or not: decided on the first line
    let adapt: LineMapper | null | undefined = archive.format === "JSONL" ? undefined : null;
    for await (const raws of archive.lines()) {
      if (adapt === undefined && raws.length) adapt = isNativeHead(parseLine(raws[0])) ? null : foveaMapper(fovea);
      // FOVEA's mapper learns from every line: it reads them all
      if (adapt) yield raws.map((r) => adapt!(parseLine(r)));
      else if (wanted) yield raws.filter((r) => wanted(r.line)).map(parseLine);
      else yield heads ? raws.map(nativeHead) : raws.map(parseLine);
    }
  }
  return Object.assign(() => read(false), { heads: () => read(true), only: (wanted: (line: number) => boolean) => read(false, wanted) });
}

// A line exactly as stowage writes one: the type, then the record's id first.
// Anything else (escapes in the id, another key order) is parsed whole.
const NATIVE_HEAD = /^\{"type":"([A-Za-z]+)","data":\{"id":"([^"\\]{1,200})"[,}]/;

/** A native line for pass A: its type and id, without parsing the rest. */
function nativeHead(raw: RawLine): ParsedLine {
  const m = raw.problem ? null : NATIVE_HEAD.exec(raw.text);
  if (!m || m[1] === "metadata") return parseLine(raw);
  // a copy, not a slice: the planner keeps every id, and a slice would keep its whole line with it
  const id = JSON.parse(`"${m[2]}"`) as string;
  return { ok: true, line: raw.line, type: canonicalType(m[1]), sourceType: m[1], data: { id } };
}

export async function openSource(path: string): Promise<{ archive: OpenedArchive; source: LineSource }> {
  const archive = await openArchive(path);
  // OPENMEMORY: OpenMemory's memories.json, read by its adapter
  if (archive.format === "OPENMEMORY") return { archive, source: openMemorySource(archive) };
  return { archive, source: lineSource(archive) };
}

/** What the history calls the file: a JSONL without stowage's own metadata line is FOVEA's. */
export function historyFormat(archive: OpenedArchive, plan: ImportPlan | null): HistoryFormat {
  if (archive.format !== "JSONL") return archive.format;
  return plan && plan.metadata?.format !== FORMAT_NAME ? "FOVEA" : "JSONL";
}

export async function previewArchive(config: Pick<Config, "database">, file: ArchiveFile, targetUserId: string, options: ImportOptions) {
  const { archive, source } = await openSource(file.path);
  const plan = await preview(config.database, { targetUserId, options, source });
  return { archive, plan, format: historyFormat(archive, plan) };
}

export interface ImportServices {
  db: Db;
  config: Pick<Config, "database">;
}

export async function importArchive(
  services: ImportServices,
  req: { requesterId: string; targetUserId: string; file: ArchiveFile; options: ImportOptions; onStart?: (record: ImportRecord) => void; onProgress?: (done: number, total: number) => void },
): Promise<{ record: ImportRecord; plan: ImportPlan | null; error: StowageError | null }> {
  const { db } = services;
  let archive: OpenedArchive | null = null;
  let source: LineSource | null = null;
  let openError: unknown = null;
  try {
    ({ archive, source } = await openSource(req.file.path));
  } catch (err) {
    openError = err;
  }
  const record = await db.importRecord.create({
    data: {
      requestedById: req.requesterId,
      targetUserId: req.targetUserId,
      filename: req.file.filename,
      sha256: req.file.sha256,
      byteSize: BigInt(req.file.byteSize),
      format: archive ? historyFormat(archive, null) : "JSONL",
      mode: req.options.mode,
      options: { mode: req.options.mode, strict: req.options.strict, resolutions: req.options.resolutions.map((r) => ({ ...r })) } as object,
      status: "RUNNING",
    },
  });
  req.onStart?.(record);
  try {
    if (openError) throw openError;
    const plan = await runImport(services.config.database, { targetUserId: req.targetUserId, options: req.options, source: source!, onProgress: req.onProgress });
    const done = await db.importRecord.update({
      where: { id: record.id },
      data: {
        status: "SUCCEEDED",
        format: historyFormat(archive!, plan),
        crossUser: plan.crossUser,
        exporterUserId: plan.exporterUserId,
        counts: plan.counts as object,
        warnings: plan.warnings.slice(0, MAX_WARNINGS),
        finishedAt: new Date(),
      },
    });
    return { record: done, plan, error: null };
  } catch (err) {
    const failed = await db.importRecord.update({
      where: { id: record.id },
      data: { status: "FAILED", error: err instanceof Error ? err.message : String(err), finishedAt: new Date() },
    });
    if (err instanceof StowageError) return { record: failed, plan: null, error: err };
    throw err;
  }
}
