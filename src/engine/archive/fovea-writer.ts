// FOVEA-shaped export: our record lines mapped back to the lines FOVEA's own
// exporter writes and its importer reads (../shared/fixtures/fovea/FORMAT-FACTS.md
// §1–§6) — the reverse of the FOVEA adapter on the import side:
//
//   worldEntity → entity              worldLocation → entity (+ locationType: FOVEA has no location line)
//   worldEvent → event                worldTime → time
//   worldCollection → entity_collection | event_collection | time_collection (by memberKind;
//                     members as entityIds / eventIds / timeIds, or the embedded `times` kept in extra)
//   worldRelation → relation          videoSummary → summary        claimRelation → claim_relation
//   persona → persona + userId (the exporter)                       ontology → ontology without id
//   annotation → annotationType + boundingBoxSequence (frame counts inside) + the one linked*Id
//                its linkType names (none → linkedEntityId, FOVEA's rule)
//
// `extra` (and a persona's object `details`) hold the fields FOVEA has and our
// columns do not; they are spread back onto the line, never over a column.
// Null and absent optional fields are left out, as FOVEA's exporter does.
// `video` lines are written too: FOVEA's importer knows the type (validates it,
// stores nothing), and a stowage import restores the videos instead of making
// placeholders.
//
// Streamed page by page from `selectedRecords`: memory stays flat whatever the size.
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Db } from "../../db/client.js";
import { NotFoundError } from "../errors.js";
import type { ExportFilter, KindName, Row } from "../kinds/index.js";
import { selectedRecords } from "../records.js";
import { CHUNK_BYTES, GENERATOR } from "./format.js";

export interface FoveaLine {
  type: string;
  data: Row;
}

/** FOVEA's metadata line (FORMAT-FACTS §3). No stowage `format` marker: a stowage import reads the file as FOVEA's. */
export interface FoveaMetadata {
  exporterUserId: string;
  exportVersion: string;
  exportedAt: string;
  generator: string;
  [k: string]: unknown;
}

export const FOVEA_EXPORT_VERSION = "1.0";

const isObj = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);

/** Copies `from`, leaving out null and undefined values. */
function present(from: Row, fields?: readonly string[]): Row {
  const out: Row = {};
  for (const k of fields ?? Object.keys(from)) {
    const v = from[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/** The fields of a JSON bag (extra) spread after the columns: a column always wins. */
function spread(out: Row, bag: unknown): Row {
  if (!isObj(bag)) return out;
  for (const [k, v] of Object.entries(bag)) if (!(k in out) && v !== undefined && v !== null) out[k] = v;
  return out;
}

/** createdAt / updatedAt last, as FOVEA's lines have them. */
function stamped(out: Row, d: Row): Row {
  for (const f of ["createdAt", "updatedAt"]) if (d[f] != null) out[f] = d[f];
  return out;
}

const LINK_FIELDS = { entity: "linkedEntityId", event: "linkedEventId", time: "linkedTimeId", location: "linkedLocationId" } as const;
const LINK_ORDER = ["entity", "event", "time", "location"] as const;

function annotation(d: Row): Row {
  const out: Row = { id: d.id, videoId: d.videoId };
  const type = d.annotationType === "object" ? "object" : "type";
  out.annotationType = type;
  if (type === "type") {
    if (d.personaId != null) out.personaId = d.personaId;
    // FOVEA's DB does not store the category and exports "entity"
    out.typeCategory = d.typeCategory ?? "entity";
    if (d.typeId != null) out.typeId = d.typeId;
  } else {
    if (d.personaId != null) out.personaId = d.personaId;
    // exactly one link, the one linkType names; without a linkType the first set one (FOVEA: NULL → entity)
    const named = typeof d.linkType === "string" ? (d.linkType as keyof typeof LINK_FIELDS) : null;
    const chosen = named && LINK_FIELDS[named] && d[LINK_FIELDS[named]] != null ? named : LINK_ORDER.find((t) => d[LINK_FIELDS[t]] != null);
    if (chosen) out[LINK_FIELDS[chosen]] = d[LINK_FIELDS[chosen]];
  }
  const seq: Row = isObj(d.boundingBoxSequence) ? { ...d.boundingBoxSequence } : { boxes: [] };
  const boxes: unknown[] = Array.isArray(seq.boxes) ? seq.boxes : [];
  // FOVEA keeps the counts inside the sequence: keyframes as emitted, interpolated as stored
  seq.totalFrames = typeof seq.totalFrames === "number" ? seq.totalFrames : ((d.totalFrames as number | undefined) ?? 0);
  seq.keyframeCount = boxes.filter((b) => !isObj(b) || b.isKeyframe !== false).length;
  seq.interpolatedFrameCount = typeof d.interpolatedFrameCount === "number" ? d.interpolatedFrameCount : (seq.interpolatedFrameCount ?? 0);
  out.boundingBoxSequence = seq;
  Object.assign(out, present(d, ["confidence", "notes", "metadata"]));
  return stamped(out, d);
}

const COLLECTION_LIST = { entity: "entityIds", event: "eventIds", time: "timeIds" } as const;

function collection(d: Row): FoveaLine {
  const memberKind = (["entity", "event", "time"] as const).find((k) => k === d.memberKind) ?? "entity";
  const out: Row = { id: d.id, name: d.name, description: d.description ?? [] };
  const x = isObj(d.extra) ? d.extra : {};
  // a time collection read from FOVEA embeds its times (kept in extra): those go back as they came
  if (!(memberKind === "time" && Array.isArray(x.times))) out[COLLECTION_LIST[memberKind]] = d.members ?? [];
  Object.assign(out, present(d, ["collectionType", "typeAssignments"]));
  spread(out, x);
  return { type: `${memberKind}_collection`, data: stamped(out, d) };
}

/** One of our lines (kind + line data) as FOVEA's line. */
export function toFoveaLine(kind: KindName, d: Row, exporterUserId: string): FoveaLine | null {
  switch (kind) {
    case "persona": {
      const out: Row = { id: d.id, userId: exporterUserId, name: d.name, role: d.role ?? "", informationNeed: d.informationNeed ?? "" };
      // FOVEA's details is a string; an object holds persona fields FOVEA had and we do not
      if (typeof d.details === "string" && d.details) out.details = d.details;
      else spread(out, d.details);
      return { type: "persona", data: stamped(out, d) };
    }
    case "ontology": {
      const out: Row = { personaId: d.personaId };
      for (const f of ["entityTypes", "eventTypes", "roleTypes", "relationTypes"]) out[f] = Array.isArray(d[f]) ? d[f] : [];
      out.relations = Array.isArray(d.relations) ? d.relations : [];
      return { type: "ontology", data: stamped(out, d) };
    }
    case "worldEntity": {
      const out: Row = { id: d.id, name: d.name, description: d.description ?? [], typeAssignments: d.typeAssignments ?? [] };
      Object.assign(out, present(d, ["metadata"]));
      return { type: "entity", data: stamped(spread(out, d.extra), d) };
    }
    case "worldLocation": {
      // FOVEA stores locations as entities that carry a locationType
      const out: Row = { id: d.id, name: d.name, description: d.description ?? [], typeAssignments: d.typeAssignments ?? [], locationType: d.locationType ?? "point" };
      Object.assign(out, present(d, ["coordinates", "metadata"]));
      return { type: "entity", data: stamped(spread(out, d.extra), d) };
    }
    case "worldEvent": {
      const out: Row = { id: d.id, name: d.name, description: d.description ?? [], personaInterpretations: d.personaInterpretations ?? [] };
      Object.assign(out, present(d, ["metadata"]));
      return { type: "event", data: stamped(spread(out, d.extra), d) };
    }
    case "worldTime": {
      const out: Row = present(d, ["id", "type", "label", "timestamp", "startTime", "endTime"]);
      return { type: "time", data: stamped(spread(out, d.extra), d) };
    }
    case "worldCollection":
      return collection(d);
    case "worldRelation": {
      // a location is an entity to FOVEA, whose endpoint types have no "location" (FORMAT-FACTS §4
      // relation); the entity line's locationType tells the FOVEA adapter to read it back as one
      const endpoint = (t: unknown) => (t === "location" ? "entity" : t);
      const out: Row = { id: d.id, relationTypeId: d.relationTypeId, sourceType: endpoint(d.sourceType), sourceId: d.sourceId, targetType: endpoint(d.targetType), targetId: d.targetId };
      Object.assign(out, present(d, ["metadata"]));
      return { type: "relation", data: stamped(out, d) };
    }
    case "video": {
      const out: Row = present(d, ["id", "title", "url", "durationMs", "fps", "width", "height", "metadata"]);
      return { type: "video", data: stamped(out, d) };
    }
    case "videoSummary": {
      const out: Row = { id: d.id, videoId: d.videoId, personaId: d.personaId, summary: d.summary ?? [] };
      return { type: "summary", data: stamped(spread(out, d.extra), d) };
    }
    case "claim": {
      const x = isObj(d.extra) ? d.extra : {};
      const out: Row = { id: d.id, summaryId: d.summaryId, summaryType: x.summaryType ?? "video", text: d.text, gloss: d.gloss ?? [] };
      Object.assign(out, present(d, ["parentClaimId", "confidence"]));
      return { type: "claim", data: stamped(spread(out, x), d) };
    }
    case "claimRelation": {
      const out: Row = { id: d.id, sourceClaimId: d.sourceClaimId, targetClaimId: d.targetClaimId, relationTypeId: d.relationTypeId };
      return { type: "claim_relation", data: stamped(spread(out, d.extra), d) };
    }
    case "annotation":
      return { type: "annotation", data: annotation(d) };
    default:
      // memories are not FOVEA's: never in a FOVEA export
      return null;
  }
}

export function foveaMetadata(exporterUserId: string, now: Date, extra: Row = {}): FoveaLine {
  const data: FoveaMetadata = { exporterUserId, exportVersion: FOVEA_EXPORT_VERSION, exportedAt: now.toISOString(), generator: GENERATOR, ...extra };
  return { type: "metadata", data };
}

export interface FoveaExportOptions {
  ownerId: string;
  filter: ExportFilter;
  /** "jsonl": one envelope per line (FOVEA's import format); "json": a pretty-printed JSON array of the same envelopes */
  format?: "jsonl" | "json";
  now?: Date;
}

export interface FoveaExportResult {
  /** lines per FOVEA line type, metadata included */
  counts: Record<string, number>;
  lines: number;
}

/** Every line of the export, metadata first, a page at a time. */
export async function* foveaLines(db: Db, ownerId: string, filter: ExportFilter, now: Date): AsyncGenerator<FoveaLine[]> {
  yield [foveaMetadata(ownerId, now)];
  for await (const page of selectedRecords(db, ownerId, filter)) {
    const lines: FoveaLine[] = [];
    for (const r of page) {
      const line = toFoveaLine(r.kind.kind, r.data, ownerId);
      if (line) lines.push(line);
    }
    if (lines.length) yield lines;
  }
}

function indent(text: string): string {
  return text.replace(/\n/g, "\n  ");
}

async function* serialize(pages: AsyncIterable<FoveaLine[]>, format: "jsonl" | "json", result: FoveaExportResult): AsyncGenerator<Buffer> {
  let buf = format === "json" ? "[" : "";
  let first = true;
  for await (const page of pages) {
    for (const line of page) {
      if (format === "json") {
        buf += `${first ? "" : ","}\n  ${indent(JSON.stringify(line, null, 2))}`;
      } else {
        buf += JSON.stringify(line) + "\n";
      }
      first = false;
      result.lines++;
      result.counts[line.type] = (result.counts[line.type] ?? 0) + 1;
    }
    if (buf.length >= CHUNK_BYTES) {
      yield Buffer.from(buf);
      buf = "";
    }
  }
  if (format === "json") buf += first ? "]\n" : "\n]\n";
  if (buf) yield Buffer.from(buf);
}

/** Streams one owner's selected FOVEA-family records as FOVEA's JSONL (or JSON array) into `sink`. Run it inside a snapshot. */
export async function writeFoveaExport(db: Db, options: FoveaExportOptions, sink: Writable): Promise<FoveaExportResult> {
  const owner = await db.user.findUnique({ where: { id: options.ownerId }, select: { id: true } });
  if (!owner) throw new NotFoundError(`no user ${options.ownerId}`);
  const now = options.now ?? new Date();
  // FOVEA's sections only: memories are OpenMemory's
  const filter: ExportFilter = { ...options.filter, sections: options.filter.sections.filter((s) => s !== "MEMORIES") };
  const result: FoveaExportResult = { counts: {}, lines: 0 };
  const pages = foveaLines(db, owner.id, filter, now);
  await pipeline(Readable.from(serialize(pages, options.format ?? "jsonl", result)), sink);
  return result;
}
