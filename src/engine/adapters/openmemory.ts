// OpenMemory's backup ZIP (memories.json + memories.jsonl.gz, export version
// "1") as our record lines, streamed: memories.json is never parsed whole
// (see openmemory-json.ts), one record at a time is.
//
// What maps to what (OpenMemory → our kinds):
//   user            → the metadata line's `profile`: apply.ts merges it into the
//                     target user (metadata.openmemory = the user block as
//                     exported, metadata.openmemoryExact = its text when its
//                     numbers need one; externalId and name when the target
//                     has none)
//   export_meta     → the metadata line (format "openmemory", exportVersion, …)
//   apps            → app            (owner_id dropped: the owner is the importer)
//   categories      → category
//   memories        → memory         (user_id dropped; metadata null stays null)
//   memory_categories → memoryCategory, id = a v5-style UUID of memory_id +
//                     category_id, so importing the same file again finds them
//   status_history  → memoryStatus   (changedById = changed_by, OpenMemory's user
//                     uuid; apply.ts gives the row to the importer unless it
//                     names the importer already)
//   access_controls → accessControl
//   memories.jsonl.gz → a memory only memories.json lacks (by id) is imported
//                     from its JSONL record; its app and categories are found
//                     by name among the file's, or created (same deterministic
//                     ids) when the file has none of that name.
// Ids are the file's own: the planner keeps an id when it is free and gives a
// new one quietly when it belongs to someone else. The metadata line carries
// the OpenMemory user as `sourceUserId`, never as `exporterUserId`, which
// would make the planner treat the file as cross-user and regenerate every id.
//
// Line numbers (`ParsedLine.line`): the line of memories.json where the
// record's element starts, so a user can find it. The metadata line is line 1
// (the document's opening brace). Lines must be unique and increasing for the
// planner, so in a document that is not pretty-printed (several elements on
// one line) a record takes the next free number instead. Records taken from
// memories.jsonl.gz come after the last line of memories.json. Every problem
// message names the file, the section and the index (or the JSONL line).
//
// Timestamps: OpenMemory writes `datetime.isoformat()` with `+00:00` and
// microseconds when non-zero; they become ISO UTC with the microseconds
// (fromLineData keeps what the DateTime column cannot in the kind's exact
// column, see kinds/exact.ts). A timestamp without an offset is read as UTC —
// OpenMemory stores UTC — never as server-local time.
//
// Numbers: metadata is Python's JSON, integers of any size (M11's big_int
// 9007199254740993). JSON.parse makes that the nearest double, which is what
// the JSON column holds; the text with its digits goes to the line's `exact`
// field, and from there to the exact column.
import { nameUuid } from "../ids.js";
import { InvalidArchiveError as InvalidArchive } from "../errors.js";
import { assertSupportedVersion, parseJson, type OpenedArchive } from "../archive/reader.js";
import { BATCH_LINES } from "../archive/line-splitter.js";
import { lineSchema, kindDef, type KindName, type Row } from "../kinds/index.js";
import { exactDocumentText, exactJsonEntries } from "../kinds/exact.js";
import type { LineSource, ParsedLine } from "../import/types.js";
import { jsonSections, type JsonElement } from "./openmemory-json.js";

export const OPENMEMORY_FORMAT = "openmemory";
export const MEMORIES_JSON = "memories.json";
export const MEMORIES_JSONL = "memories.jsonl.gz";

/** memories.json's array sections, in dependency order, and the kind each holds. */
export const SECTION_KINDS: Readonly<Record<string, KindName>> = {
  apps: "app",
  categories: "category",
  memories: "memory",
  memory_categories: "memoryCategory",
  status_history: "memoryStatus",
  access_controls: "accessControl",
};

/** Sections read for the metadata line, not as records. */
const HEADER_SECTIONS = new Set(["user", "export_meta"]);

// ---------------------------------------------------------------- values

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A record that cannot become a line: the reason, without the "where" (added by the caller). */
class Unusable extends Error {}

const PY_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An OpenMemory timestamp (`2024-02-19T16:40:02.118123+00:00`) as ISO UTC:
 * milliseconds, and microseconds when they are not zero. No offset means UTC.
 * Digits below the microsecond (Python has none) are cut.
 */
export function omTime(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  const m = typeof value === "string" ? PY_TIME.exec(value.trim()) : null;
  if (!m) throw new Unusable(`${field}: expected an ISO-8601 timestamp, got ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.padEnd(3, "0").slice(0, 3)) : 0;
  const micros = frac ? frac.slice(3, 6).padEnd(3, "0") : "000";
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
  }
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(local);
  // 2024-02-30 is no date: Date.UTC would roll it over
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    throw new Unusable(`${field}: ${JSON.stringify(value)} is not a valid date and time`);
  const iso = new Date(local - offsetMin * 60_000).toISOString();
  return micros === "000" ? iso : `${iso.slice(0, 23)}${micros}Z`;
}

/** Optional timestamps: absent stays absent (the column's default applies). */
function optTime(o: Obj, key: string): string | null | undefined {
  return o[key] === undefined ? undefined : omTime(o[key], key);
}

// stowage's namespace for the ids it derives from OpenMemory's (an arbitrary, fixed UUID)
const NAMESPACE = Buffer.from("3f0b8c52a4e94d5f9c7e2b61d8a0e7c4", "hex");

export const uuidV5 = (name: string): string => nameUuid(NAMESPACE, name);

/** The id of a memory–category link, which OpenMemory's rows do not have. */
export const linkId = (memoryId: string, categoryId: string) => uuidV5(`memory_categories:${memoryId}:${categoryId}`);
const syntheticId = (kind: "app" | "category", sourceUserId: string | null, name: string) => uuidV5(`${kind}:${sourceUserId ?? ""}:${name}`);

/** Copies the keys present (undefined stays out, so the zod defaults and column defaults apply). */
function defined(row: Row): Row {
  for (const k of Object.keys(row)) if (row[k] === undefined) delete row[k];
  return row;
}

/** The record's JSON-valued keys, by kind: their exact texts when JSON.parse changed a number. */
const JSON_KEYS: Partial<Record<KindName, Record<string, string>>> = { app: { metadata: "metadata" }, memory: { metadata: "metadata" } };

function mapRecord(kind: KindName, o: Obj, text: string): Row {
  const exact = JSON_KEYS[kind] && exactJsonEntries(text, JSON_KEYS[kind]);
  switch (kind) {
    case "app":
      return defined({
        id: o.id,
        name: o.name,
        description: o.description,
        metadata: o.metadata,
        isActive: o.is_active,
        createdAt: optTime(o, "created_at"),
        updatedAt: optTime(o, "updated_at"),
        exact,
      });
    case "category":
      return defined({ id: o.id, name: o.name, description: o.description, createdAt: optTime(o, "created_at"), updatedAt: optTime(o, "updated_at") });
    case "memory":
      return defined({
        id: o.id,
        appId: o.app_id,
        content: o.content,
        // JSON null stays null (M23); absent is absent
        metadata: o.metadata,
        state: o.state,
        createdAt: optTime(o, "created_at"),
        updatedAt: optTime(o, "updated_at"),
        archivedAt: optTime(o, "archived_at"),
        deletedAt: optTime(o, "deleted_at"),
        exact,
      });
    case "memoryCategory": {
      if (typeof o.memory_id !== "string" || !o.memory_id) throw new Unusable("memory_id: expected a string");
      if (typeof o.category_id !== "string" || !o.category_id) throw new Unusable("category_id: expected a string");
      return { id: linkId(o.memory_id, o.category_id), memoryId: o.memory_id, categoryId: o.category_id };
    }
    case "memoryStatus":
      return defined({
        id: o.id,
        memoryId: o.memory_id,
        changedById: o.changed_by,
        oldState: o.old_state,
        newState: o.new_state,
        changedAt: optTime(o, "changed_at"),
      });
    case "accessControl":
      return defined({
        id: o.id,
        subjectType: o.subject_type,
        subjectId: o.subject_id,
        objectType: o.object_type,
        objectId: o.object_id,
        effect: o.effect,
        createdAt: optTime(o, "created_at"),
      });
    default:
      throw new Error(`no OpenMemory mapping for ${kind}`);
  }
}

/** Our line data, checked against the kind's schema so the problem can name where it is. */
function checked(kind: KindName, data: Row): Row {
  const parsed = lineSchema(kindDef(kind)!).safeParse(data);
  if (parsed.success) return data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join(".") || "data";
  throw new Unusable(`${field}: ${issue.message}`);
}

function jsonText(text: string): unknown {
  try {
    return parseJson(text);
  } catch (e) {
    throw new Unusable(`not valid JSON (${(e as Error).message})`);
  }
}

const typeName = (v: unknown) => (Array.isArray(v) ? "an array" : v === null ? "null" : typeof v);

// ---------------------------------------------------------------- the header

interface Header {
  user: Obj | null;
  /** the user block as text with its numbers, when JSON.parse changes one of them */
  userExact?: string;
  exportMeta: Obj | null;
  /** sections the document has (array or not, empty or not) */
  sections: Set<string>;
  /** lines of memories.json */
  lines: number;
}

async function readHeader(archive: OpenedArchive): Promise<Header> {
  const header: Header = { user: null, exportMeta: null, sections: new Set(), lines: 0 };
  const doc = await archive.openMember(MEMORIES_JSON);
  const elements = jsonSections(doc, {
    name: MEMORIES_JSON,
    maxElementBytes: archive.limits.maxLineBytes,
    want: (s) => {
      header.sections.add(s);
      return HEADER_SECTIONS.has(s);
    },
    onEnd: (n) => (header.lines = n),
  });
  for await (const el of elements) {
    if (!HEADER_SECTIONS.has(el.section) || el.index !== null) continue;
    if (el.problem) throw new InvalidArchive(el.problem);
    let value: unknown;
    try {
      value = jsonText(el.text!);
    } catch (e) {
      throw new InvalidArchive(`${MEMORIES_JSON} ${el.section} (line ${el.line}): ${(e as Error).message}`);
    }
    if (!isObj(value)) throw new InvalidArchive(`${MEMORIES_JSON} ${el.section} (line ${el.line}): expected a JSON object, got ${typeName(value)}`);
    if (el.section === "user") {
      header.user = value;
      header.userExact = exactDocumentText(el.text!);
    }
    else header.exportMeta = value;
  }
  if (header.exportMeta && header.exportMeta.version !== undefined && header.exportMeta.version !== null) {
    assertSupportedVersion(header.exportMeta.version, `${MEMORIES_JSON} (export_meta.version)`);
  }
  return header;
}

function metadataLine(h: Header): Row {
  const user = h.user;
  const meta = h.exportMeta ?? {};
  const str = (v: unknown) => (typeof v === "string" && v ? v : null);
  let exportedAt: string | null = null;
  try {
    exportedAt = omTime(meta.generated_at, "generated_at");
  } catch {
    exportedAt = null;
  }
  return {
    format: OPENMEMORY_FORMAT,
    exportVersion: meta.version ?? null,
    exportedAt,
    // OpenMemory's internal user uuid and its external user_id: who made the file,
    // on purpose not `exporterUserId` (that would regenerate every id)
    sourceUserId: str(user?.id),
    sourceExternalId: str(user?.user_id),
    exportMeta: meta,
    // merged into the importing user by apply.ts
    // (the account has no exact column: the block's own text goes beside it, when it has numbers JSON.parse changed)
    profile: user ? { externalId: str(user.user_id), name: str(user.name), metadata: { openmemory: user, ...(h.userExact ? { openmemoryExact: h.userExact } : {}) } } : null,
  };
}

// ---------------------------------------------------------------- the source

/** OpenMemory's archive as a re-readable stream of our lines. */
export function openMemorySource(archive: OpenedArchive): LineSource {
  // the header (user, export_meta, which sections, how many lines) is read once, on the first pass
  let header: Promise<Header> | null = null;
  return async function* () {
    header ??= readHeader(archive);
    const h = await header;
    yield* records(archive, h);
  };
}

async function* records(archive: OpenedArchive, h: Header): AsyncGenerator<ParsedLine[]> {
  const sourceUserId = typeof h.user?.id === "string" ? h.user.id : null;
  let last = 1;
  /** the planner needs unique, increasing line numbers */
  const lineFor = (wanted: number) => (last = Math.max(wanted, last + 1));
  let batch: ParsedLine[] = [{ ok: true, line: 1, type: "metadata", data: metadataLine(h) }];

  // what the JSONL fallback needs: which memories memories.json has, and apps/categories by name
  const memoryIds = new Set<string>();
  const appByName = new Map<string, string>();
  const categoryByName = new Map<string, string>();
  // links from memories[].category_ids, only when the document has no memory_categories section
  const linksFromMemories = !h.sections.has("memory_categories");
  const unknownReported = new Set<string>();

  const doc = await archive.openMember(MEMORIES_JSON);
  for await (const el of jsonSections(doc, { name: MEMORIES_JSON, maxElementBytes: archive.limits.maxLineBytes, want: (s) => Object.hasOwn(SECTION_KINDS, s) })) {
    if (HEADER_SECTIONS.has(el.section)) continue;
    const kind = Object.hasOwn(SECTION_KINDS, el.section) ? SECTION_KINDS[el.section] : undefined;
    if (!kind) {
      // a section this reader does not know: said once, as an unknown record type the planner warns about
      if (!unknownReported.has(el.section)) {
        unknownReported.add(el.section);
        batch.push({ ok: true, line: lineFor(el.line), type: `${MEMORIES_JSON}:${el.section}`, data: {} });
      }
      continue;
    }
    const line = lineFor(el.line);
    const where = `${MEMORIES_JSON} ${el.section}${el.index === null ? "" : `[${el.index}]`} (line ${el.line})`;
    if (el.problem) {
      // too large, not UTF-8: the reader's message names the section and index already
      batch.push({ ok: false, line, kind, message: el.problem });
      continue;
    }
    try {
      const o = elementObject(el);
      if (kind === "memory" && typeof o.id === "string") memoryIds.add(o.id);
      const data = checked(kind, mapRecord(kind, o, el.text!));
      if (kind === "app") appByName.set(data.name as string, data.id as string);
      if (kind === "category") categoryByName.set(data.name as string, data.id as string);
      batch.push({ ok: true, line, type: kind, data });
      if (kind === "memory" && linksFromMemories && Array.isArray(o.category_ids)) {
        for (const c of o.category_ids) {
          if (typeof c !== "string" || !c) continue;
          batch.push({ ok: true, line: lineFor(line + 1), type: "memoryCategory", data: { id: linkId(data.id as string, c), memoryId: data.id, categoryId: c } });
        }
      }
    } catch (e) {
      if (!(e instanceof Unusable)) throw e;
      batch.push({ ok: false, line, kind, message: `${where}: ${e.message}`, group: e.message });
    }
    if (batch.length >= BATCH_LINES) {
      yield batch;
      batch = [];
    }
  }

  // memories.jsonl.gz: the memories memories.json does not have
  if (archive.members.includes(MEMORIES_JSONL)) {
    let next = Math.max(h.lines, last);
    const nextLine = () => (last = Math.max(++next, last + 1));
    const synthesized = new Set<string>();
    for await (const raws of archive.memberLines(MEMORIES_JSONL, { gunzip: true })) {
      for (const raw of raws) {
        const where = `${MEMORIES_JSONL} line ${raw.line}`;
        if (raw.problem) {
          batch.push({ ok: false, line: nextLine(), kind: "memory", message: `${where}: ${raw.problem}`, group: raw.problem });
          continue;
        }
        try {
          const o = jsonText(raw.text);
          if (!isObj(o)) throw new Unusable(`expected a JSON object, got ${typeName(o)}`);
          if (typeof o.id === "string" && memoryIds.has(o.id)) continue;
          for (const line of jsonlMemory(o, raw.text, { sourceUserId, appByName, categoryByName, synthesized })) batch.push({ ...line, line: nextLine() });
        } catch (e) {
          if (!(e instanceof Unusable)) throw e;
          batch.push({ ok: false, line: nextLine(), kind: "memory", message: `${where}: ${e.message}` });
        }
      }
      if (batch.length >= BATCH_LINES) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

function elementObject(el: JsonElement): Obj {
  const value = jsonText(el.text!);
  if (!isObj(value)) throw new Unusable(`expected a JSON object, got ${typeName(value)}`);
  return value;
}

interface JsonlContext {
  sourceUserId: string | null;
  appByName: Map<string, string>;
  categoryByName: Map<string, string>;
  /** apps and categories created for names the file does not have, already emitted in this pass */
  synthesized: Set<string>;
}

/**
 * A memory that only memories.jsonl.gz has: its record (id, content, metadata,
 * state, timestamps; the JSONL has no archived_at/deleted_at), preceded by any
 * app or category it names that the file lacks, followed by its category links.
 * Lines are numbered by the caller.
 */
function jsonlMemory(o: Obj, text: string, ctx: JsonlContext): { ok: true; type: string; data: Row }[] {
  const out: { ok: true; type: string; data: Row }[] = [];
  if (typeof o.app !== "string" || !o.app) throw new Unusable(`app: expected the name of an app, got ${JSON.stringify(o.app)}`);
  let appId = ctx.appByName.get(o.app);
  if (!appId) {
    appId = syntheticId("app", ctx.sourceUserId, o.app);
    if (!ctx.synthesized.has(`app:${o.app}`)) {
      ctx.synthesized.add(`app:${o.app}`);
      out.push({ ok: true, type: "app", data: checked("app", { id: appId, name: o.app }) });
    }
  }
  const memory = checked(
    "memory",
    defined({
      id: o.id,
      appId,
      content: o.content,
      metadata: o.metadata,
      state: o.state,
      createdAt: optTime(o, "created_at"),
      updatedAt: optTime(o, "updated_at"),
      exact: exactJsonEntries(text, JSON_KEYS.memory!),
    }),
  );
  const links: Row[] = [];
  for (const name of Array.isArray(o.categories) ? o.categories : []) {
    if (typeof name !== "string" || !name) continue;
    let categoryId = ctx.categoryByName.get(name);
    if (!categoryId) {
      categoryId = syntheticId("category", ctx.sourceUserId, name);
      if (!ctx.synthesized.has(`category:${name}`)) {
        ctx.synthesized.add(`category:${name}`);
        out.push({ ok: true, type: "category", data: checked("category", { id: categoryId, name }) });
      }
    }
    links.push({ id: linkId(memory.id as string, categoryId), memoryId: memory.id, categoryId });
  }
  out.push({ ok: true, type: "memory", data: memory });
  for (const l of links) out.push({ ok: true, type: "memoryCategory", data: l });
  return out;
}
