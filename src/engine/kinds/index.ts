// The kind registry: every record kind declared once, in archive order (a
// record never refers to one written after it). Export, stats, preview,
// import and id remapping all walk this list.
import { z } from "zod";
import { modelInfos, type ColumnInfo } from "../../db/models.js";
import { isCalendarDay, isCanonicalInstant } from "../../db/values.js";
import { annotationKinds } from "./annotations.js";
import { entriesOf, entryStillHolds, instantEntry, splitInstant, type ExactEntries } from "./exact.js";
import { memoryKinds } from "./memories.js";
import { SECTIONS, type ExportFilter, type KindDef, type KindName, type RefVisitor, type Row, type Section } from "./types.js";

export * from "./types.js";

const ORDER: KindName[] = [
  "app",
  "category",
  "memory",
  "memoryCategory",
  "memoryStatus",
  "accessControl",
  "persona",
  "video",
  "worldEntity",
  "worldLocation",
  "worldEvent",
  "worldTime",
  "worldCollection",
  "ontology",
  "annotation",
  "videoSummary",
  "claim",
  "claimRelation",
  "worldRelation",
];

const byName = new Map<KindName, KindDef>([...memoryKinds, ...annotationKinds].map((k) => [k.kind, k]));

export const KINDS: readonly KindDef[] = ORDER.map((name) => {
  const k = byName.get(name);
  if (!k) throw new Error(`kind ${name} is ordered but not declared`);
  return k;
});

if (byName.size !== KINDS.length) throw new Error("a declared kind is missing from the archive order");

for (const k of KINDS) {
  if (!k.exactField) continue;
  const c = modelInfos("sqlite").get(k.model)?.byField.get(k.exactField);
  if (!c || c.type !== "Json" || c.isRequired) throw new Error(`kind ${k.kind}: exactField ${k.exactField} must be a nullable Json column of ${k.model}`);
}

export const KIND_NAMES: readonly KindName[] = ORDER;

const ownKinds = new Map<KindDef, readonly KindName[]>(KINDS.map((k) => [k, [k.kind]]));

/** `[kind.kind]`, made once: what a look-up of a record's own id by its kind takes, a few times per record. */
export function ownKind(kind: KindDef): readonly KindName[] {
  return ownKinds.get(kind)!;
}

export function kindDef(name: string): KindDef | undefined {
  return byName.get(name as KindName);
}

export function kindsOfSections(sections: readonly Section[]): KindDef[] {
  return KINDS.filter((k) => sections.includes(k.section));
}

export const ALL_SECTIONS: readonly Section[] = SECTIONS;

/** Fixed target kinds of a column reference, or those the row's type column names. */
export function refKinds(ref: KindDef["refs"][number], row: Row): readonly KindName[] | null {
  return typeof ref.kinds === "function" ? ref.kinds(row) : ref.kinds;
}

/** Visits every reference of a row: columns first, then JSON. The row is modified in place. */
export function walkRefs(kind: KindDef, row: Row, visit: RefVisitor): void {
  walkColumnRefs(kind, row, visit);
  kind.jsonRefs?.(row, visit);
}

/** Visits the references a row holds in its columns (not those inside JSON). */
export function walkColumnRefs(kind: KindDef, row: Row, visit: RefVisitor): void {
  for (const ref of kind.refs) {
    const id = row[ref.field];
    if (typeof id !== "string" || id === "") continue;
    const kinds = refKinds(ref, row);
    if (!kinds) continue;
    const next = visit(kinds, id);
    if (next !== undefined) row[ref.field] = next;
  }
}

// ---------- archive lines ----------

const columnsCache = new Map<KindName, ColumnInfo[]>();

/** Columns of a kind as written to an archive line: everything but the owner. */
export function lineColumns(kind: KindDef): ColumnInfo[] {
  let cols = columnsCache.get(kind.kind);
  if (!cols) {
    const info = modelInfos("sqlite").get(kind.model);
    if (!info) throw new Error(`no model ${kind.model}`);
    cols = info.columns.filter((c) => c.field !== "ownerId");
    columnsCache.set(kind.kind, cols);
  }
  return cols;
}

const iso = z.string().check((ctx) => {
  const s = ctx.value;
  // what every exporter of ours writes (toISOString) is checked without Date.parse or a regex
  if (isCanonicalInstant(s)) return;
  if (Number.isNaN(Date.parse(s)) || s[10] !== "T" || !isCalendarDay(s)) ctx.issues.push({ code: "custom", message: "expected an ISO-8601 timestamp", input: s });
  // microseconds are kept (exact.ts); finer digits would be dropped without a word
  else if (/T\d{2}:\d{2}:\d{2}[.,]\d{7}/.test(s)) ctx.issues.push({ code: "custom", message: "expected at most 6 fractional digits of a second", input: s });
});
const exactShape = z.record(z.string(), z.string());

function columnSchema(c: ColumnInfo, enumValues: Map<string, Set<string>>): z.ZodType {
  let t: z.ZodType;
  if (c.isEnum) t = z.enum([...(enumValues.get(c.type) ?? [])] as [string, ...string[]]);
  else
    switch (c.type) {
      case "String":
        t = z.string();
        break;
      case "Int":
        t = z.number().int();
        break;
      case "Float":
        t = z.number();
        break;
      case "BigInt":
        t = z.number().int();
        break;
      case "Boolean":
        t = z.boolean();
        break;
      case "DateTime":
        t = iso;
        break;
      case "Bytes":
        t = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "expected base64");
        break;
      default:
        t = z.unknown();
    }
  if (!c.isRequired) return t.nullable().optional();
  if (c.default || c.isUpdatedAt) return t.optional();
  return t;
}

const glossItem = z.looseObject({ type: z.string(), content: z.string().optional() });
const gloss = z.array(glossItem);
const box = z.looseObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number(), frameNumber: z.number().int().min(0) });
const boxSequence = z.looseObject({ boxes: z.array(box), interpolationSegments: z.array(z.unknown()).optional(), visibilityRanges: z.array(z.unknown()).optional() });

// JSON columns with a known shape, by field name (the same name means the same thing across kinds)
const JSON_SHAPES: Record<string, z.ZodType> = {
  gloss,
  summary: gloss,
  boundingBoxSequence: boxSequence,
  typeAssignments: z.array(z.unknown()),
  personaInterpretations: z.array(z.unknown()),
  members: z.array(z.string()),
  entityTypes: z.array(z.unknown()),
  eventTypes: z.array(z.unknown()),
  roleTypes: z.array(z.unknown()),
  relationTypes: z.array(z.unknown()),
  relations: z.array(z.unknown()),
};

const schemaCache = new Map<KindName, z.ZodObject>();

/** The zod schema of a kind's archive line `data`, derived from the Prisma model. */
export function lineSchema(kind: KindDef): z.ZodObject {
  const cached = schemaCache.get(kind.kind);
  if (cached) return cached;
  const info = modelInfos("sqlite").get(kind.model)!;
  const shape: Record<string, z.ZodType> = {};
  for (const c of lineColumns(kind)) {
    const known = c.field === kind.exactField ? exactShape : c.type === "Json" ? JSON_SHAPES[c.field] : undefined;
    shape[c.field] = known ? (c.isRequired ? known : known.nullable().optional()) : columnSchema(c, info.enumValues);
  }
  shape.id = z.string().min(1).max(200);
  const schema = z.object(kind.refine ? kind.refine(shape) : shape);
  schemaCache.set(kind.kind, schema);
  return schema;
}

/** A database row as archive line data: ISO timestamps, base64 vectors (when asked), no owner; see foldExact. */
export function toLineData(kind: KindDef, row: Row, filter: Pick<ExportFilter, "includeVectors" | "includeInterpolated">): Row {
  const out: Row = {};
  for (const c of lineColumns(kind)) {
    const v = row[c.field];
    if (v === undefined || (c.field === kind.exactField && v === null)) continue;
    if (c.field === kind.vectorField) {
      if (filter.includeVectors && v !== null) out[c.field] = Buffer.from(v as Uint8Array).toString("base64");
      continue;
    }
    if (v instanceof Date) out[c.field] = v.toISOString();
    else if (typeof v === "bigint") out[c.field] = Number(v);
    else if (v instanceof Uint8Array) out[c.field] = Buffer.from(v).toString("base64");
    else out[c.field] = v;
  }
  foldExact(kind, out);
  return kind.exportTransform ? kind.exportTransform(out, filter) : out;
}

const exactColumnsCache = new Map<KindName, ColumnInfo[]>();

/**
 * Line data whose exact field holds the column as stored, made the line's
 * own form, in place: an instant the column still holds an entry for gets
 * its microseconds in its ISO string; of the entries only the JSON texts that
 * still hold stay (the line has no other way to say them); an exact field
 * left with nothing is dropped. Folding folded data changes nothing, so a
 * writer may fold whatever reader made its lines.
 */
export function foldExact(kind: KindDef, data: Row): Row {
  const field = kind.exactField;
  if (!field || data[field] === undefined) return data;
  const entries = entriesOf(data[field]);
  let cols = exactColumnsCache.get(kind.kind);
  if (!cols) exactColumnsCache.set(kind.kind, (cols = lineColumns(kind).filter((c) => c.type === "DateTime" || c.type === "Json")));
  let texts: ExactEntries | null = null;
  if (entries)
    for (const c of cols) {
      const v = data[c.field];
      if (v === null || v === undefined || entries[c.field] === undefined) continue;
      if (c.type === "DateTime") data[c.field] = instantEntry(v as string, entries[c.field]) ?? v;
      else if (entryStillHolds("Json", v, entries[c.field])) (texts ??= {})[c.field] = entries[c.field];
    }
  if (texts) data[field] = texts;
  else delete data[field];
  return data;
}

/**
 * Archive line data as a database row: instants as toISOString writes them
 * (the writers bind that text as it stands), Buffers and BigInts back from
 * their JSON forms. A kind with an exact column gets it set every time (null
 * when nothing is lost), so an overwrite never leaves an old entry behind.
 */
export function fromLineData(kind: KindDef, data: Row): Row {
  const out: Row = {};
  const given = kind.exactField ? entriesOf(data[kind.exactField]) : null;
  const exact: ExactEntries = {};
  for (const c of lineColumns(kind)) {
    const v = data[c.field];
    if (v === undefined || c.field === kind.exactField) continue;
    if (v === null) out[c.field] = null;
    else if (c.type === "DateTime") {
      const { instant, exact: e } = splitInstant(v as string);
      out[c.field] = instant;
      if (e) exact[c.field] = e;
    } else if (c.type === "Bytes") out[c.field] = Buffer.from(v as string, "base64");
    else if (c.type === "BigInt") out[c.field] = BigInt(v as number);
    else out[c.field] = v;
    if (given && exact[c.field] === undefined && entryStillHolds(c.type, out[c.field], given[c.field])) exact[c.field] = given[c.field];
  }
  if (kind.exactField) out[kind.exactField] = Object.keys(exact).length ? exact : null;
  return out;
}
