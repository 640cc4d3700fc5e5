// FOVEA's JSONL lines → our line shapes. parseLine already maps FOVEA's line
// types to our kind names (entity → worldEntity, summary → videoSummary, ...);
// this maps the fields: FOVEA's columns that are ours stay, the ones that are
// not go to the kind's `extra` (persona: `details`; annotation, video,
// relation: `metadata`), defaults fill what FOVEA leaves out, and the
// annotation's link and frame counts become columns.
//
// Every mapping is a function of the line (and, for a link or a relation
// endpoint naming a location, of the entity lines seen before): the line source is read three times
// (scan, decide, apply) and decide and apply must get the same records.
// A line already in our shape comes out unchanged, so a JSONL without
// stowage's metadata line loses nothing by passing through here.
import { FORMAT_NAME } from "../archive/format.js";
import { nameUuid } from "../ids.js";
import type { ParsedLine } from "../archive/line-parser.js";
import { kindDef, lineColumns, type KindName, type Row } from "../kinds/index.js";

/** What a pass over one file has learnt so far: which entity lines were locations. */
export interface FoveaContext {
  locationIds: Set<string>;
}

export const foveaContext = (): FoveaContext => ({ locationIds: new Set() });

/** A file whose first line is stowage's own metadata line is native: its lines are ours already. */
export function isNativeHead(first: ParsedLine | undefined): boolean {
  return !!first && first.ok && first.type === "metadata" && first.data.format === FORMAT_NAME;
}

export type LineMapper = (p: ParsedLine) => ParsedLine;

/**
 * A mapper over one file. Give every read of the same file the same context:
 * what a read learns (which entities are locations) then holds for the reads
 * after it, so a file that names a location before its entity line still
 * maps the same on the reads that decide and apply (the first read, the
 * planner's scan, only validates lines and collects ids, which neither the
 * link field nor an endpoint type changes).
 */
export function foveaMapper(ctx: FoveaContext = foveaContext()): LineMapper {
  return (p) => foveaLine(p, ctx);
}

/** One FOVEA-shaped line in our shape. Lines of other kinds, and malformed lines, come back as they are. */
export function foveaLine(p: ParsedLine, ctx: FoveaContext = foveaContext()): ParsedLine {
  if (!p.ok) return p;
  const map = MAPPERS[p.type as KindName];
  if (!map) return p;
  const { type, data } = map(p.data, ctx);
  return { ...p, type: type ?? p.type, data };
}

// ---------------------------------------------------------------- helpers

const isObj = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** The other system's user ids: never kept in the target's data (`userId` stays on the line for cross-user detection; validation strips it). */
const FOREIGN_USER_FIELDS = new Set(["userId", "createdBy", "ownerId"]);

const columnCache = new Map<KindName, Set<string>>();
function columns(kind: KindName): Set<string> {
  let c = columnCache.get(kind);
  if (!c) columnCache.set(kind, (c = new Set(lineColumns(kindDef(kind)!).map((col) => col.field))));
  return c;
}

/** Splits a line's data: our columns (and `userId`, read by the planner) in `own`, everything else in `rest`. `consumed` fields are mapped by the caller and dropped here. */
function split(kind: KindName, data: Row, consumed: readonly string[] = []): { own: Row; rest: Row } {
  const cols = columns(kind);
  const own: Row = {};
  const rest: Row = {};
  for (const [k, v] of Object.entries(data)) {
    if (consumed.includes(k)) continue;
    if (cols.has(k)) own[k] = v;
    else if (k === "userId") own[k] = v;
    else if (!FOREIGN_USER_FIELDS.has(k)) rest[k] = v;
  }
  return { own, rest };
}

/** `rest` folded into a JSON column: the column's own keys win; nothing to fold leaves the column as it was. */
function fold(target: unknown, rest: Row): unknown {
  if (!Object.keys(rest).length) return target;
  if (target === undefined || target === null) return rest;
  if (isObj(target)) return { ...rest, ...target };
  return target; // a column that is not an object keeps its value; there is no place for the rest
}

function setFolded(own: Row, field: string, rest: Row) {
  const v = fold(own[field], rest);
  if (v !== undefined) own[field] = v;
}

const ISO = /^\d{4}-\d{2}-\d{2}T/;

/** createdAt/updatedAt as ISO-8601: epoch numbers and other parseable dates converted, null left to the column default. Unparseable values stay, for validation to name. */
function timestamps(own: Row) {
  for (const f of ["createdAt", "updatedAt"]) {
    const v = own[f];
    if (v === null) delete own[f];
    else if (typeof v === "number" && Number.isFinite(v)) own[f] = new Date(v).toISOString();
    else if (typeof v === "string" && !ISO.test(v) && !Number.isNaN(Date.parse(v))) own[f] = new Date(v).toISOString();
  }
}

/** A description: as written (time collections have plain strings, in FOVEA and here), nothing as []. */
function description(v: unknown): unknown {
  return v === undefined || v === null ? [] : v;
}

/** A field that must be a gloss array (summary, claim gloss): a plain string becomes one text item, nothing []. */
function gloss(v: unknown): unknown {
  if (typeof v === "string") return v ? [{ type: "text", content: v }] : [];
  return description(v);
}

/** Optional columns with a default: null means "not given". */
function dropNull(own: Row, ...fields: string[]) {
  for (const f of fields) if (own[f] === null) delete own[f];
}

/** A deterministic UUID (v5 layout) for records FOVEA writes without an id. */
export const derivedId = (name: string): string => nameUuid("stowage:fovea:", name);

type Mapper = (data: Row, ctx: FoveaContext) => { type?: KindName; data: Row };

// ---------------------------------------------------------------- kinds

function persona(data: Row): { data: Row } {
  const { own, rest } = split("persona", data);
  dropNull(own, "role", "informationNeed");
  setFolded(own, "details", rest);
  timestamps(own);
  return { data: own };
}

const TYPE_LISTS = ["entityTypes", "eventTypes", "roleTypes", "relationTypes", "relations"];

function ontology(data: Row): { data: Row } {
  const { own } = split("ontology", data);
  // FOVEA's ontology has no id: one per persona, so the persona's id names it (the same on every read and every import)
  if ((own.id === undefined || own.id === null) && typeof own.personaId === "string" && own.personaId) own.id = derivedId(`ontology:${own.personaId}`);
  for (const f of TYPE_LISTS) if (own[f] === undefined || own[f] === null) own[f] = [];
  timestamps(own);
  return { data: own };
}

/** Entities, locations, events: name + description gloss; wikidata and import fields to extra. */
function worldObject(kind: "worldEntity" | "worldLocation" | "worldEvent", data: Row): Row {
  const { own, rest } = split(kind, data);
  own.description = description(own.description);
  const list = kind === "worldEvent" ? "personaInterpretations" : "typeAssignments";
  if (own[list] === undefined || own[list] === null) own[list] = [];
  if (kind === "worldLocation") dropNull(own, "locationType");
  setFolded(own, "extra", rest);
  timestamps(own);
  return own;
}

/** FOVEA stores locations as entities; an entity with a locationType is one, and becomes our location. */
const entity: Mapper = (data, ctx) => {
  if (typeof data.locationType === "string" && data.locationType) return location(data, ctx);
  return { data: worldObject("worldEntity", data) };
};

function location(data: Row, ctx: FoveaContext): { type: KindName; data: Row } {
  const own = worldObject("worldLocation", data);
  if (typeof own.id === "string") ctx.locationIds.add(own.id);
  return { type: "worldLocation", data: own };
}

function worldTime(data: Row): { data: Row } {
  const { own, rest } = split("worldTime", data);
  if (typeof own.type !== "string" || !own.type) own.type = own.startTime != null || own.endTime != null ? "interval" : "instant";
  for (const f of ["timestamp", "startTime", "endTime"]) if (typeof own[f] === "number") own[f] = new Date(own[f] as number).toISOString();
  setFolded(own, "extra", rest);
  timestamps(own);
  return { data: own };
}

const MEMBER_LISTS: [string, "entity" | "event" | "time"][] = [
  ["entityIds", "entity"],
  ["eventIds", "event"],
  ["timeIds", "time"],
];

function worldCollection(data: Row): { data: Row } {
  const consumed: string[] = [];
  let members = data.members;
  let memberKind = data.memberKind;
  for (const [field, kind] of MEMBER_LISTS) {
    if (!Array.isArray(data[field])) continue;
    consumed.push(field);
    members ??= data[field];
    memberKind ??= kind;
  }
  // time collections embed their times; the ids are the members, the times themselves stay in extra
  if (Array.isArray(data.times)) {
    members ??= data.times.map((t) => (isObj(t) ? t.id : t)).filter((id) => typeof id === "string");
    memberKind ??= "time";
  }
  const { own, rest } = split("worldCollection", data, consumed);
  if (members !== undefined) own.members = members;
  own.members ??= [];
  if (memberKind !== undefined) own.memberKind = memberKind;
  own.name ??= "";
  own.description = description(own.description);
  if (own.typeAssignments === undefined || own.typeAssignments === null) own.typeAssignments = [];
  dropNull(own, "collectionType");
  setFolded(own, "extra", rest);
  timestamps(own);
  return { data: own };
}

const ENDPOINTS = [
  ["sourceType", "sourceId"],
  ["targetType", "targetId"],
] as const;

function worldRelation(data: Row, ctx: FoveaContext): { data: Row } {
  const { own, rest } = split("worldRelation", data);
  // FOVEA's endpoint types have no "location" (FORMAT-FACTS §4 relation): an "entity" endpoint naming one of its location entities is a location here
  for (const [type, id] of ENDPOINTS) if (own[type] === "entity" && typeof own[id] === "string" && ctx.locationIds.has(own[id])) own[type] = "location";
  setFolded(own, "metadata", rest);
  timestamps(own);
  return { data: own };
}

function video(data: Row): { data: Row } {
  // FOVEA's own names (filename, duration in seconds, frameRate...) fill our columns and stay in metadata as written
  const { own, rest } = split("video", data);
  if (typeof own.title !== "string" || !own.title) {
    const title = [data.title, data.name, data.filename, data.id].find((v) => typeof v === "string" && v);
    if (title !== undefined) own.title = title;
  }
  if (own.durationMs == null && typeof data.duration === "number" && Number.isFinite(data.duration)) own.durationMs = Math.round(data.duration * 1000);
  if (own.fps == null && typeof data.frameRate === "number") own.fps = data.frameRate;
  for (const f of ["width", "height", "durationMs"]) if (typeof own[f] === "number" && !Number.isInteger(own[f])) own[f] = Math.round(own[f] as number);
  setFolded(own, "metadata", rest);
  timestamps(own);
  return { data: own };
}

function videoSummary(data: Row): { data: Row } {
  const { own, rest } = split("videoSummary", data);
  own.summary = gloss(own.summary);
  setFolded(own, "extra", rest);
  timestamps(own);
  return { data: own };
}

/** A claim without text: the gloss read flat, references as their ids (how FOVEA writes claim text). */
function flatText(items: unknown): string {
  if (!Array.isArray(items)) return "";
  return items.map((i) => (isObj(i) && typeof i.content === "string" ? i.content : "")).join("");
}

function claim(data: Row): { data: Row } {
  const { own, rest } = split("claim", data);
  own.gloss = gloss(own.gloss);
  if (own.text === undefined || own.text === null) own.text = flatText(own.gloss);
  setFolded(own, "extra", rest);
  timestamps(own);
  return { data: own };
}

function claimRelation(data: Row): { data: Row } {
  const { own, rest } = split("claimRelation", data);
  setFolded(own, "extra", rest);
  timestamps(own);
  return { data: own };
}

const LINKS = [
  ["linkedEntityId", "entity"],
  ["linkedEventId", "event"],
  ["linkedTimeId", "time"],
  ["linkedLocationId", "location"],
] as const;

const linkField = (type: unknown) => LINKS.find(([, t]) => t === type)?.[0];

function annotation(data: Row, ctx: FoveaContext): { data: Row } {
  // FOVEA's DB/REST shape (type, label, frames) is read too, though its export never writes it
  const consumed = ["type", "label", "frames"];
  const { own, rest } = split("annotation", data, consumed);
  if (typeof own.annotationType !== "string" || !own.annotationType) own.annotationType = typeof data.type === "string" && data.type ? data.type : "type";
  if (own.boundingBoxSequence === undefined && data.frames !== undefined) own.boundingBoxSequence = data.frames;
  const label = typeof data.label === "string" && data.label ? data.label : null;
  if (own.annotationType === "type" && label && own.typeId == null) own.typeId = label;

  // the link: an explicit linkType naming a set field; else the first of entity → event → time → location (FOVEA's rule, NULL linkType = entity)
  const present = LINKS.filter(([f]) => typeof own[f] === "string" && own[f]);
  let field: string | undefined = (present.find(([, t]) => t === own.linkType) ?? present[0])?.[0];
  if (!field && label && own.annotationType === "object") {
    field = linkField(own.linkType ?? "entity");
    if (field) own[field] = label;
  }
  for (const [f] of LINKS) if (f !== field && own[f] != null) delete own[f];
  // a location is an entity in FOVEA: an entity link to one is a location link here
  if (field === "linkedEntityId" && ctx.locationIds.has(own.linkedEntityId as string)) {
    own.linkedLocationId = own.linkedEntityId;
    delete own.linkedEntityId;
    field = "linkedLocationId";
  }
  if (field) own.linkType = LINKS.find(([f]) => f === field)![1];

  // frame counts: columns from the sequence (keyframes are the boxes not marked otherwise)
  const seq = own.boundingBoxSequence;
  if (isObj(seq)) {
    const boxes = Array.isArray(seq.boxes) ? seq.boxes : [];
    const keyframes = boxes.filter((b) => !isObj(b) || b.isKeyframe !== false).length;
    if (!isInt(own.keyframeCount)) own.keyframeCount = keyframes;
    if (!isInt(own.interpolatedFrameCount)) own.interpolatedFrameCount = isInt(seq.interpolatedFrameCount) && seq.interpolatedFrameCount >= 0 ? seq.interpolatedFrameCount : boxes.length - keyframes;
    if (!isInt(own.totalFrames)) own.totalFrames = isInt(seq.totalFrames) && seq.totalFrames >= 0 ? seq.totalFrames : 0;
  }
  setFolded(own, "metadata", rest);
  timestamps(own);
  return { data: own };
}

const MAPPERS: Partial<Record<KindName, Mapper>> = {
  persona,
  ontology,
  worldEntity: entity,
  worldLocation: (data, ctx) => location(data, ctx),
  worldEvent: (data) => ({ data: worldObject("worldEvent", data) }),
  worldTime,
  worldCollection,
  worldRelation,
  video,
  videoSummary,
  claim,
  claimRelation,
  annotation,
};
