// Streams the selected records of one owner out of the database, kind by kind
// in archive order, with keyset pagination: memory stays flat whatever the size.
import type { Db } from "../db/client.js";
import { KINDS, refKinds, toLineData, type ExportFilter, type KindDef, type KindName, type Row } from "./kinds/index.js";
import { selectionFor, type Selection, type Where } from "./selection.js";

export const PAGE_SIZE = 2000;

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

async function* keyset(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>): AsyncGenerator<Row[]> {
  const d = delegate(db, kind);
  let last: string | undefined;
  for (;;) {
    const page = await d.findMany({
      where: last === undefined ? where : { AND: [where, { id: { gt: last } }] },
      orderBy: { id: "asc" },
      take: PAGE_SIZE,
      ...(Object.keys(omit).length ? { omit } : {}),
    });
    if (!page.length) return;
    yield page;
    if (page.length < PAGE_SIZE) return;
    last = page[page.length - 1].id as string;
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

const PARENT_BATCH = 500;

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
async function* byParentBatches(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>, parentWhere: Where, batch: number): AsyncGenerator<Row[]> {
  const self = selfReference(kind)!;
  const parentKind = KINDS.find((k) => k.kind === kind.parent!.kind)!;
  const late: string[] = [];
  let last: string | undefined;
  for (;;) {
    const parents = await delegate(db, parentKind).findMany({
      where: last === undefined ? parentWhere : { AND: [parentWhere, { id: { gt: last } }] },
      orderBy: { id: "asc" },
      take: batch,
      select: { id: true },
    });
    if (!parents.length) break;
    last = parents[parents.length - 1].id as string;
    const rows = await delegate(db, kind).findMany({
      where: { AND: [where, { [kind.parent!.field]: { in: parents.map((p) => p.id) } }] },
      ...(Object.keys(omit).length ? { omit } : {}),
    });
    const { ordered, leftOver } = parentsFirst(rows, self.field);
    late.push(...leftOver.map((r) => r.id as string));
    for (let i = 0; i < ordered.length; i += PAGE_SIZE) yield ordered.slice(i, i + PAGE_SIZE);
    if (parents.length < batch) break;
  }
  // few: by depth over all of them, so a parent among them always comes first
  if (late.length) yield* levels(db, kind, where, omit, late);
}

async function* kindPages(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>, sel: Selection, parentBatch: number): AsyncGenerator<Row[]> {
  if (!selfReference(kind)) return yield* keyset(db, kind, where, omit);
  const parentWhere = kind.parent ? sel.where(kind.parent.kind) : null;
  if (parentWhere) return yield* byParentBatches(db, kind, where, omit, parentWhere, parentBatch);
  yield* levels(db, kind, where, omit);
}

/** Parent-first by depth: roots, then their children, and so on (within `only`, when given). */
async function* levels(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>, only?: string[]): AsyncGenerator<Row[]> {
  const atDepth = levelWheres(kind, where);
  const chunks = only ? Array.from({ length: Math.ceil(only.length / PAGE_SIZE) }, (_, i) => only.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)) : [null];
  let left = only?.length ?? Infinity;
  for (let depth = 0; ; depth++) {
    let any = false;
    for (const ids of chunks) {
      const w = ids ? { AND: [atDepth(depth), { id: { in: ids } }] } : atDepth(depth);
      for await (const page of keyset(db, kind, w, omit)) {
        any = true;
        left -= page.length;
        yield page;
      }
    }
    // a whole kind ends at its first empty depth; a subset may start deep, so it ends when all of it is out
    // (or, for records in a parent cycle that no depth reaches, once the kind has no deeper records)
    if (only ? left <= 0 || !(await delegate(db, kind).count({ where: atDepth(depth) })) : !any) return;
  }
}

async function resolvable(db: Db, sel: Selection, kinds: readonly KindName[], ids: Set<string>): Promise<Set<string>> {
  const found = new Set<string>();
  for (const k of kinds) {
    const where = sel.where(k);
    const def = KINDS.find((d) => d.kind === k)!;
    if (!where || !ids.size) continue;
    const rows = await delegate(db, def).findMany({ where: { AND: [where, { id: { in: [...ids] } }] }, select: { id: true } });
    for (const r of rows) found.add(r.id as string);
  }
  return found;
}

async function dropUnresolved(db: Db, sel: Selection, kind: KindDef, rows: Row[]): Promise<Row[]> {
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
  for (const { kinds, ids } of wanted.values()) for (const id of await resolvable(db, sel, kinds, ids)) ok.add(id);
  return rows.filter((row) =>
    refs.every((ref) => {
      const id = row[ref.field];
      return typeof id !== "string" || !refKinds(ref, row) || ok.has(id);
    }),
  );
}

export interface ExportRecord {
  kind: KindDef;
  data: Row;
}

/** Every selected record as archive line data, in archive order, a page at a time. */
export async function* selectedRecords(db: Db, ownerId: string, filter: ExportFilter, parentBatch = PARENT_BATCH): AsyncGenerator<ExportRecord[]> {
  const sel = selectionFor(ownerId, filter);
  for (const kind of KINDS) {
    const where = sel.where(kind.kind);
    if (!where) continue;
    const omit = kind.vectorField && !filter.includeVectors ? { [kind.vectorField]: true } : {};
    for await (const page of kindPages(db, kind, where, omit, sel, parentBatch)) {
      const kept = await dropUnresolved(db, sel, kind, page);
      if (kept.length) yield kept.map((row) => ({ kind, data: toLineData(kind, row, filter) }));
    }
  }
}

export type KindCounts = Partial<Record<KindName, number>>;

/** Exact number of records per kind an export with this filter writes. */
export async function countSelected(db: Db, ownerId: string, filter: ExportFilter): Promise<KindCounts> {
  const sel = selectionFor(ownerId, filter);
  const counts: KindCounts = {};
  for (const kind of KINDS) {
    const where = sel.where(kind.kind);
    if (!where) continue;
    if (!softRefs(kind).length) {
      counts[kind.kind] = await delegate(db, kind).count({ where });
      continue;
    }
    let n = 0;
    for await (const page of keyset(db, kind, where, {})) n += (await dropUnresolved(db, sel, kind, page)).length;
    counts[kind.kind] = n;
  }
  return counts;
}
