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

async function* kindPages(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>): AsyncGenerator<Row[]> {
  if (!selfReference(kind)) return yield* keyset(db, kind, where, omit);
  const atDepth = levelWheres(kind, where);
  for (let depth = 0; ; depth++) {
    let any = false;
    for await (const page of keyset(db, kind, atDepth(depth), omit)) {
      any = true;
      yield page;
    }
    if (!any) return;
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
export async function* selectedRecords(db: Db, ownerId: string, filter: ExportFilter): AsyncGenerator<ExportRecord[]> {
  const sel = selectionFor(ownerId, filter);
  for (const kind of KINDS) {
    const where = sel.where(kind.kind);
    if (!where) continue;
    const omit = kind.vectorField && !filter.includeVectors ? { [kind.vectorField]: true } : {};
    for await (const page of kindPages(db, kind, where, omit)) {
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
