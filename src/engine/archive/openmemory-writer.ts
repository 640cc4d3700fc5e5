// OPENMEMORY export: OpenMemory's own layout (memories.json + memories.jsonl.gz,
// keys and value formats as its exporter writes them), streamed.
//
// What an OpenMemory import brought comes back as it came: timestamps with
// their microseconds and JSON with its numbers (the kinds' exact column), and
// the user block the import kept on the account (`metadata.openmemory`, its
// numbers from `metadata.openmemoryExact`), whose id then names the owner
// throughout the file (owner_id, user_id, changed_by) as in the original.
import { createWriteStream, createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Db } from "../../db/client.js";
import { foldExact, type ExportFilter, type KindDef, type KindName, type Row } from "../kinds/index.js";
import { entriesOf, jsonEntryMatches, parseExact } from "../kinds/exact.js";
import { selectedRecords, type KindCounts } from "../records.js";
import { CHUNK_BYTES } from "./format.js";
import { asciiJson, nested, pyIso, unixSeconds } from "./openmemory-format.js";

export const OPENMEMORY_JSON = "memories.json";
export const OPENMEMORY_JSONL = "memories.jsonl.gz";

interface Owner {
  id: string;
  email: string;
  name: string | null;
  externalId: string | null;
  metadata: unknown;
  createdAt: Date;
  updatedAt: Date;
}

const SECTION_OF: Partial<Record<KindName, string>> = {
  app: "apps",
  category: "categories",
  memory: "memories",
  memoryCategory: "memory_categories",
  memoryStatus: "status_history",
  accessControl: "access_controls",
};
const SECTION_ORDER = ["apps", "categories", "memories", "memory_categories", "status_history", "access_controls"];

/** A JSON field of line data: from its exact text when the line has one (numbers as they were written). */
function jsonField(kind: KindDef, d: Row, field: string): unknown {
  const text = kind.exactField ? entriesOf(d[kind.exactField])?.[field] : undefined;
  return text === undefined ? d[field] : parseExact(text);
}

/** The owner as the file names it (the user block's id) and as this database does. */
interface OwnerIds {
  file: string;
  account: string;
}

function omRecord(kind: KindDef, d: Row, owner: OwnerIds, categoryIds: Map<string, string[]>): Row {
  const ownerId = owner.file;
  switch (kind.kind) {
    case "app":
      return { id: d.id, owner_id: ownerId, name: d.name, description: d.description ?? null, metadata: jsonField(kind, d, "metadata") ?? {}, is_active: d.isActive, created_at: pyIso(d.createdAt as string), updated_at: pyIso(d.updatedAt as string) };
    case "category":
      return { id: d.id, name: d.name, description: d.description ?? null, created_at: pyIso(d.createdAt as string), updated_at: pyIso(d.updatedAt as string) };
    case "memory":
      return {
        id: d.id,
        user_id: ownerId,
        app_id: d.appId,
        content: d.content,
        metadata: jsonField(kind, d, "metadata") ?? null,
        state: d.state,
        created_at: pyIso(d.createdAt as string),
        updated_at: pyIso(d.updatedAt as string),
        archived_at: pyIso(d.archivedAt as string | null),
        deleted_at: pyIso(d.deletedAt as string | null),
        category_ids: categoryIds.get(d.id as string) ?? [],
      };
    case "memoryCategory":
      return { memory_id: d.memoryId, category_id: d.categoryId };
    case "memoryStatus":
      return { id: d.id, memory_id: d.memoryId, changed_by: d.changedById == null || d.changedById === owner.account ? ownerId : d.changedById, old_state: d.oldState, new_state: d.newState, changed_at: pyIso(d.changedAt as string) };
    default:
      return { id: d.id, subject_type: d.subjectType, subject_id: d.subjectId ?? null, object_type: d.objectType, object_id: d.objectId ?? null, effect: d.effect, created_at: pyIso(d.createdAt as string) };
  }
}

export interface OpenMemoryExport {
  owner: Owner;
  filter: ExportFilter;
  now: Date;
  onRecords?: (n: number) => void;
}

export async function writeOpenMemory(db: Db, opts: OpenMemoryExport, sink: Writable): Promise<KindCounts> {
  const { owner, now } = opts;
  const filter: ExportFilter = { ...opts.filter, sections: ["MEMORIES"] };
  const counts: KindCounts = {};
  const dir = await mkdtemp(join(tmpdir(), "stowage-om-"));
  const jsonlPath = join(dir, OPENMEMORY_JSONL);
  const gzip = createGzip({ level: 6 });
  const jsonlDone = pipeline(gzip, createWriteStream(jsonlPath));
  const appNames = new Map<string, string>();
  const categoryNames = new Map<string, string>();

  const kept = keptUserBlock(owner.metadata);
  const ids: OwnerIds = { account: owner.id, file: typeof kept?.id === "string" && kept.id ? kept.id : owner.id };

  async function* documentChunks(): AsyncGenerator<Buffer> {
    const user = kept ?? {
      id: owner.id,
      user_id: owner.externalId ?? owner.email,
      name: owner.name,
      email: owner.email,
      metadata: owner.metadata ?? {},
      created_at: pyIso(owner.createdAt),
      updated_at: pyIso(owner.updatedAt),
    };
    let out = `{\n  "user": ${nested(user, 1)}`;
    let open: string | null = null;
    let jsonl = "";
    const openSection = (name: string) => {
      // sections with no records still appear, as OpenMemory writes them
      if (open) out += "\n  ]";
      for (const s of SECTION_ORDER.slice(open ? SECTION_ORDER.indexOf(open) + 1 : 0, SECTION_ORDER.indexOf(name))) out += `,\n  "${s}": []`;
      out += `,\n  "${name}": [`;
      open = name;
    };
    let first = true;
    for await (const page of selectedRecords(db, owner.id, filter)) {
      const def = page[0].kind;
      const kind = def.kind;
      const section = SECTION_OF[kind];
      if (!section) continue;
      if (section !== open) {
        openSection(section);
        first = true;
      }
      let categoryIds = new Map<string, string[]>();
      if (kind === "memory") categoryIds = await categoriesOf(db, page.map((r) => r.data.id as string));
      for (const r of page) {
        // whichever reader made the line, the exact column's microseconds sit in the timestamps now
        const d = foldExact(def, r.data);
        if (kind === "app") appNames.set(d.id as string, d.name as string);
        if (kind === "category") categoryNames.set(d.id as string, d.name as string);
        out += `${first ? "" : ","}\n    ${nested(omRecord(def, d, ids, categoryIds), 2)}`;
        first = false;
        if (kind === "memory") {
          jsonl +=
            asciiJson({
              id: d.id,
              content: d.content,
              metadata: jsonField(def, d, "metadata") ?? {},
              created_at: pyIso(d.createdAt as string),
              updated_at: pyIso(d.updatedAt as string),
              state: d.state,
              app: appNames.get(d.appId as string) ?? null,
              categories: (categoryIds.get(d.id as string) ?? []).map((c) => categoryNames.get(c)).filter((n) => n !== undefined),
            }) + "\n";
        }
      }
      counts[kind] = (counts[kind] ?? 0) + page.length;
      opts.onRecords?.(page.length);
      if (jsonl.length >= CHUNK_BYTES) {
        if (!gzip.write(jsonl)) await once(gzip, "drain");
        jsonl = "";
      }
      if (out.length >= CHUNK_BYTES) {
        yield Buffer.from(out);
        out = "";
      }
    }
    if (jsonl) gzip.write(jsonl);
    gzip.end();
    const rest = open ? SECTION_ORDER.slice(SECTION_ORDER.indexOf(open) + 1) : SECTION_ORDER;
    if (open) out += "\n  ]";
    for (const s of rest) out += `,\n  "${s}": []`;
    const meta = {
      app_id_filter: filter.appId ?? null,
      from_date: unixSeconds(filter.from),
      to_date: unixSeconds(filter.to),
      version: "1",
      generated_at: pyIso(now),
    };
    out += `,\n  "export_meta": ${nested(meta, 1)}\n}`;
    yield Buffer.from(out);
  }

  // loaded here, not with the module: a worker that imports never needs it (~200 ms of its start)
  const { ZipArchive } = await import("archiver");
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const done = pipeline(zip, sink);
  try {
    const doc = Readable.from(documentChunks());
    zip.append(doc, { name: "memories.json", date: now });
    await Promise.race([once(doc, "end"), done]);
    await jsonlDone;
    zip.append(createReadStream(jsonlPath), { name: OPENMEMORY_JSONL, date: now });
    await zip.finalize();
    await done;
    return counts;
  } catch (e) {
    zip.abort();
    gzip.destroy();
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const USER_KEYS = ["id", "user_id", "name", "email", "metadata", "created_at", "updated_at"];

/**
 * The user block an OpenMemory import kept on the account, in OpenMemory's
 * key order (PostgreSQL's jsonb keeps its own), or null. Its numbers come from
 * the text kept beside it while that text is still the block's.
 */
function keptUserBlock(metadata: unknown): Row | null {
  const isObj = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);
  const kept = isObj(metadata) ? metadata.openmemory : undefined;
  if (!isObj(kept)) return null;
  const text = isObj(metadata) ? metadata.openmemoryExact : undefined;
  const exact = jsonEntryMatches(text, kept) ? parseExact(text) : null;
  const block = isObj(exact) ? exact : kept;
  const keys = [...USER_KEYS.filter((k) => Object.hasOwn(block, k)), ...Object.keys(block).filter((k) => !USER_KEYS.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, block[k]]));
}

// a page of memory ids in one IN list would pass SQLite's bound-parameter limit
const IDS_PER_QUERY = 500;

async function categoriesOf(db: Db, memoryIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < memoryIds.length; i += IDS_PER_QUERY) {
    const links = await db.memoryCategory.findMany({
      where: { memoryId: { in: memoryIds.slice(i, i + IDS_PER_QUERY) } },
      select: { memoryId: true, categoryId: true },
      orderBy: { id: "asc" },
    });
    for (const l of links) {
      const list = map.get(l.memoryId);
      if (list) list.push(l.categoryId);
      else map.set(l.memoryId, [l.categoryId]);
    }
  }
  return map;
}
