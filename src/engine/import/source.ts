// An archive's lines as the planner reads them (LineSource): stowage's own
// lines, FOVEA's through its adapter, OpenMemory's memories.json through its.
import { canonicalType, openArchive, parseLine, type OpenedArchive, type ParsedLine, type RawLine } from "../archive/reader.js";
import { foveaContext, foveaMapper, isNativeHead, type LineMapper } from "../adapters/fovea.js";
import { openMemorySource } from "../adapters/openmemory.js";
import type { LineSource } from "./types.js";

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
