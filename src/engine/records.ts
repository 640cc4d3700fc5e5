// Streams the selected records of one owner out of the database, kind by kind
// in archive order, with keyset pagination: memory stays flat whatever the size.
// Rows are read through the driver on the client's own connection (inside the
// snapshot's transaction when there is one) and decoded straight into archive
// line data from the Prisma model's columns (sql-read.ts): Prisma's row mapping
// was the larger part of an export's CPU time.
import type { Db } from "../db/client.js";
import { rawReader } from "../db/raw.js";
import { KINDS, refKinds, type ExportFilter, type KindDef, type KindName, type Row } from "./kinds/index.js";
import { selectionFor, type Selection, type Where } from "./selection.js";
import { SqlSource } from "./sql-read.js";

export const PAGE_SIZE = 500;

type Delegate = {
  findMany(args: object): Promise<Row[]>;
  count(args: object): Promise<number>;
  update(args: object): Promise<Row>;
};

export function delegate(db: Db, kind: KindDef): Delegate {
  const name = kind.model[0].toLowerCase() + kind.model.slice(1);
  return (db as unknown as Record<string, Delegate>)[name];
}

/** A column reference to its own kind with a relation (claim → parent claim): written parents first. */
function selfReference(kind: KindDef) {
  return kind.refs.find((r) => r.relation && Array.isArray(r.kinds) && r.kinds.includes(kind.kind));
}

/** References that are not foreign keys (polymorphic columns) must resolve inside the export. */
function softRefs(kind: KindDef) {
  return kind.refs.filter((r) => !r.relation);
}

/** What one export reads from: rows come as archive line data. */
interface Reading {
  src: SqlSource;
  sel: Selection;
  filter: ExportFilter;
}

async function* keyset(r: Reading, kind: KindDef, where: Where): AsyncGenerator<Row[]> {
  let after: string | undefined;
  for (;;) {
    const page = await r.src.lines(kind, where, r.filter, { after, limit: PAGE_SIZE });
    if (!page.length) return;
    yield page;
    if (page.length < PAGE_SIZE) return;
    after = page[page.length - 1].id as string;
  }
}

/** Parent-first levels of a self-referencing kind: roots, then their children, and so on. */
function levelWheres(kind: KindDef, where: Where): (depth: number) => Where {
  const self = selfReference(kind)!;
  return (depth) => {
    let cond: Where = { [self.field]: null };
    for (let i = 0; i < depth; i++) cond = { [self.relation!]: cond };
    return { AND: [where, cond] };
  };
}

const PARENT_BATCH = 100;

/** Rows ordered so that each comes after its parent; rows whose parent is not among them (or in a cycle) are left over. */
function parentsFirst(rows: Row[], parentField: string): { ordered: Row[]; leftOver: Row[] } {
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  const children = new Map<string, Row[]>();
  const ordered: Row[] = [];
  for (const r of rows) {
    const parent = r[parentField] as string | null;
    if (parent === null || parent === undefined) ordered.push(r);
    else if (byId.has(parent)) (children.get(parent) ?? children.set(parent, []).get(parent)!).push(r);
  }
  for (let i = 0; i < ordered.length; i++) ordered.push(...(children.get(ordered[i].id as string) ?? []));
  const placed = new Set(ordered);
  return { ordered, leftOver: rows.filter((r) => !placed.has(r)) };
}

/**
 * Tree-shaped records that travel with a parent (claims of a summary): a
 * batch of parents' records in one query, put parents-first in memory. The
 * rare record whose parent lives elsewhere is written at the end, by depth.
 */
async function* byParentBatches(r: Reading, kind: KindDef, where: Where, parentWhere: Where, batch: number): AsyncGenerator<Row[]> {
  const self = selfReference(kind)!;
  const parentKind = KINDS.find((k) => k.kind === kind.parent!.kind)!;
  const late: string[] = [];
  let after: string | undefined;
  for (;;) {
    const parents = await r.src.ids(parentKind, parentWhere, { after, limit: batch });
    if (!parents.length) break;
    after = parents[parents.length - 1];
    const rows = await r.src.lines(kind, { AND: [where, { [kind.parent!.field]: { in: parents } }] }, r.filter, { via: kind.parent!.field });
    // the same order on both databases, whatever plan fetched them
    rows.sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : (a.id as string) > (b.id as string) ? 1 : 0));
    const { ordered, leftOver } = parentsFirst(rows, self.field);
    late.push(...leftOver.map((row) => row.id as string));
    for (let i = 0; i < ordered.length; i += PAGE_SIZE) yield ordered.slice(i, i + PAGE_SIZE);
    if (parents.length < batch) break;
  }
  // few: by depth over all of them, so a parent among them always comes first
  if (late.length) yield* levels(r, kind, where, late);
}

async function* kindPages(r: Reading, kind: KindDef, where: Where, parentBatch: number): AsyncGenerator<Row[]> {
  if (!selfReference(kind)) return yield* keyset(r, kind, where);
  const parentWhere = kind.parent ? r.sel.where(kind.parent.kind) : null;
  if (parentWhere) return yield* byParentBatches(r, kind, where, parentWhere, parentBatch);
  yield* levels(r, kind, where);
}

/** Parent-first by depth: roots, then their children, and so on (within `only`, when given). */
async function* levels(r: Reading, kind: KindDef, where: Where, only?: string[]): AsyncGenerator<Row[]> {
  const atDepth = levelWheres(kind, where);
  const chunks = only ? Array.from({ length: Math.ceil(only.length / PAGE_SIZE) }, (_, i) => only.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)) : [null];
  let left = only?.length ?? Infinity;
  for (let depth = 0; ; depth++) {
    let any = false;
    for (const ids of chunks) {
      const w = ids ? { AND: [atDepth(depth), { id: { in: ids } }] } : atDepth(depth);
      for await (const page of keyset(r, kind, w)) {
        any = true;
        left -= page.length;
        yield page;
      }
    }
    // a whole kind ends at its first empty depth; a subset may start deep, so it ends when all of it is out
    // (or, for records in a parent cycle that no depth reaches, once the kind has no deeper records)
    if (only ? left <= 0 || !(await r.src.count(kind, atDepth(depth))) : !any) return;
  }
}

const ID_CHUNK = 1000;

async function resolvable(r: Reading, kinds: readonly KindName[], ids: Set<string>): Promise<Set<string>> {
  const found = new Set<string>();
  const all = [...ids];
  for (const k of kinds) {
    const where = r.sel.where(k);
    const def = KINDS.find((d) => d.kind === k)!;
    if (!where || !all.length) continue;
    for (let i = 0; i < all.length; i += ID_CHUNK)
      for (const id of await r.src.ids(def, { AND: [where, { id: { in: all.slice(i, i + ID_CHUNK) } }] })) found.add(id);
  }
  return found;
}

async function dropUnresolved(r: Reading, kind: KindDef, rows: Row[]): Promise<Row[]> {
  const refs = softRefs(kind);
  if (!refs.length) return rows;
  const wanted = new Map<string, { kinds: readonly KindName[]; ids: Set<string> }>();
  for (const row of rows)
    for (const ref of refs) {
      const kinds = refKinds(ref, row);
      const id = row[ref.field];
      if (!kinds || typeof id !== "string") continue;
      const key = kinds.join(",");
      const entry = wanted.get(key) ?? { kinds, ids: new Set<string>() };
      entry.ids.add(id);
      wanted.set(key, entry);
    }
  const ok = new Set<string>();
  for (const { kinds, ids } of wanted.values()) for (const id of await resolvable(r, kinds, ids)) ok.add(id);
  return rows.filter((row) =>
    refs.every((ref) => {
      const id = row[ref.field];
      return typeof id !== "string" || !refKinds(ref, row) || ok.has(id);
    }),
  );
}

async function reading(db: Db, ownerId: string, filter: ExportFilter): Promise<Reading> {
  return { src: new SqlSource(await rawReader(db)), sel: selectionFor(ownerId, filter), filter };
}

export interface ExportRecord {
  kind: KindDef;
  data: Row;
}

/** Every selected record as archive line data, in archive order, a page at a time. */
export async function* selectedRecords(db: Db, ownerId: string, filter: ExportFilter, parentBatch = PARENT_BATCH): AsyncGenerator<ExportRecord[]> {
  const r = await reading(db, ownerId, filter);
  for (const kind of KINDS) {
    const where = r.sel.where(kind.kind);
    if (!where) continue;
    for await (const page of kindPages(r, kind, where, parentBatch)) {
      const kept = await dropUnresolved(r, kind, page);
      if (kept.length) yield kept.map((data) => ({ kind, data }));
    }
  }
}

/** The owner an export is of (id and OpenMemory's external id), read like the records. */
export async function exportOwner(db: Db, ownerId: string): Promise<{ id: string; externalId: string | null; email: string } | null> {
  const src = new SqlSource(await rawReader(db));
  return (await src.findById("User", ownerId, ["id", "externalId", "email"])) as { id: string; externalId: string | null; email: string } | null;
}

export type KindCounts = Partial<Record<KindName, number>>;

/** Exact number of records per kind an export with this filter writes. */
export async function countSelected(db: Db, ownerId: string, filter: ExportFilter): Promise<KindCounts> {
  const r = await reading(db, ownerId, filter);
  const counts: KindCounts = {};
  for (const kind of KINDS) {
    const where = r.sel.where(kind.kind);
    if (!where) continue;
    if (!softRefs(kind).length) {
      counts[kind.kind] = await r.src.count(kind, where);
      continue;
    }
    let n = 0;
    for await (const page of keyset(r, kind, where)) n += (await dropUnresolved(r, kind, page)).length;
    counts[kind.kind] = n;
  }
  return counts;
}
