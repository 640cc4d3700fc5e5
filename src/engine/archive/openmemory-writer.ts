// OPENMEMORY export: OpenMemory's own layout (memories.json + memories.jsonl.gz,
// keys and value formats as its exporter writes them), streamed.
import { createWriteStream, createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { ZipArchive } from "archiver";
import type { Db } from "../../db/client.js";
import type { ExportFilter, KindName, Row } from "../kinds/index.js";
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

function omRecord(kind: KindName, d: Row, ownerId: string, categoryIds: Map<string, string[]>): Row {
  switch (kind) {
    case "app":
      return { id: d.id, owner_id: ownerId, name: d.name, description: d.description ?? null, metadata: d.metadata ?? {}, is_active: d.isActive, created_at: pyIso(d.createdAt as string), updated_at: pyIso(d.updatedAt as string) };
    case "category":
      return { id: d.id, name: d.name, description: d.description ?? null, created_at: pyIso(d.createdAt as string), updated_at: pyIso(d.updatedAt as string) };
    case "memory":
      return {
        id: d.id,
        user_id: ownerId,
        app_id: d.appId,
        content: d.content,
        metadata: d.metadata ?? null,
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
      return { id: d.id, memory_id: d.memoryId, changed_by: d.changedById ?? ownerId, old_state: d.oldState, new_state: d.newState, changed_at: pyIso(d.changedAt as string) };
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

  async function* documentChunks(): AsyncGenerator<Buffer> {
    const user = {
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
      const kind = page[0].kind.kind;
      const section = SECTION_OF[kind];
      if (!section) continue;
      if (section !== open) {
        openSection(section);
        first = true;
      }
      let categoryIds = new Map<string, string[]>();
      if (kind === "memory") categoryIds = await categoriesOf(db, page.map((r) => r.data.id as string));
      for (const r of page) {
        const d = r.data;
        if (kind === "app") appNames.set(d.id as string, d.name as string);
        if (kind === "category") categoryNames.set(d.id as string, d.name as string);
        out += `${first ? "" : ","}\n    ${nested(omRecord(kind, d, owner.id, categoryIds), 2)}`;
        first = false;
        if (kind === "memory") {
          jsonl +=
            asciiJson({
              id: d.id,
              content: d.content,
              metadata: d.metadata ?? {},
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

async function categoriesOf(db: Db, memoryIds: string[]): Promise<Map<string, string[]>> {
  const links = await db.memoryCategory.findMany({ where: { memoryId: { in: memoryIds } }, select: { memoryId: true, categoryId: true }, orderBy: { id: "asc" } });
  const map = new Map<string, string[]>();
  for (const l of links) map.set(l.memoryId, [...(map.get(l.memoryId) ?? []), l.categoryId]);
  return map;
}
