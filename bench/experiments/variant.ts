// Experimental variants of the export pipeline (src/engine/records.ts,
// archive/lines.ts, export.ts ZIP path), switchable one change at a time so
// each proposal in the report has its own measured number. Nothing in src is
// touched; this copies the logic it changes and imports the rest.
//
//   simplify  a kind that travels with its parent (memoryCategory/Status with
//             their memory, claims with their summary, claim relations with
//             their claims) is selected with `{ ownerId }` alone when its
//             parent(s) are selected whole: no relation joins, in the pages and
//             in the counts. (Assumes a record's parent has the same owner,
//             which the app and imports maintain.)
//   tree      "levels" (today: one full scan per depth of the claim tree, with
//             a join per level) or "dfs" (roots by keyset, then the children of
//             each written page by `parentClaimId IN (page ids)`, depth-first:
//             parents before children, one page per level in memory) — measured
//             slower on SQLite: with ORDER BY id the planner keeps the
//             (ownerId, id) index and scans every claim for each IN query
//             or "byParent" (claims by slices of 500 of their summaries' ids,
//             no ORDER BY so SQLite can use the summaryId index, ordered
//             parents-first in memory: one batch of ≈ 500 summaries' claims)
//   pageSize  rows per findMany (today 2000)
//   chunk     "page" (today: a chunk per page, megabytes for big rows) or
//             "64k" (flush at 64 KiB inside the page, as CHUNK_BYTES intends)
//   lean      toLineData with the column list computed once per kind (today
//             lineColumns() filters the model's columns again for every row), and
//             ownerId left out of the SELECT (it is never written)
import { once } from "node:events";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ZipArchive } from "archiver";
import type { Db } from "../../src/db/client.js";
import { CHUNK_BYTES, FORMAT_NAME, FORMAT_VERSION, GENERATOR, MANIFEST_PATH, RECORDS_PATH, type Manifest, type MetadataLine } from "../../src/engine/archive/format.js";
import { gzipped, measured, type Digest, type LineStats } from "../../src/engine/archive/lines.js";
import { describeFilter } from "../../src/engine/export.js";
import { KINDS, kindDef, lineColumns, refKinds, toLineData, type ExportFilter, type KindDef, type KindName, type Row } from "../../src/engine/kinds/index.js";
import { delegate, type ExportRecord, type KindCounts } from "../../src/engine/records.js";
import { selectionFor, type Selection, type Where } from "../../src/engine/selection.js";

export interface VariantOptions {
  simplify?: boolean;
  tree?: "levels" | "dfs" | "byParent";
  pageSize?: number;
  chunk?: "page" | "64k";
  /** toLineData with each kind's column list computed once (today: per row), and ownerId not fetched */
  lean?: boolean;
}

const isOwnerOnly = (w: Where | null) => !!w && Object.keys(w).length === 1 && "ownerId" in w;

function variantSelection(ownerId: string, filter: ExportFilter, opts: VariantOptions): Selection {
  const sel = selectionFor(ownerId, filter);
  if (!opts.simplify) return sel;
  const memo = new Map<KindName, boolean>();
  const whole = (k: KindName): boolean => {
    if (memo.has(k)) return memo.get(k)!;
    memo.set(k, false);
    const def = kindDef(k)!;
    const w = sel.where(k);
    const v =
      isOwnerOnly(w) ||
      (!!w && !!def.parent && whole(def.parent.kind) && (def.alsoRequires ?? []).every((r) => whole(r.kind)));
    memo.set(k, v);
    return v;
  };
  return { where: (k) => (whole(k) ? { ownerId } : sel.where(k)) };
}

function selfReference(kind: KindDef) {
  return kind.refs.find((r) => r.relation && Array.isArray(r.kinds) && r.kinds.includes(kind.kind));
}
const softRefs = (kind: KindDef) => kind.refs.filter((r) => !r.relation);

async function* keyset(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>, pageSize: number): AsyncGenerator<Row[]> {
  const d = delegate(db, kind);
  let last: string | undefined;
  for (;;) {
    const page = await d.findMany({
      where: last === undefined ? where : { AND: [where, { id: { gt: last } }] },
      orderBy: { id: "asc" },
      take: pageSize,
      ...(Object.keys(omit).length ? { omit } : {}),
    });
    if (!page.length) return;
    yield page;
    if (page.length < pageSize) return;
    last = page[page.length - 1].id as string;
  }
}

async function* kindPages(db: Db, kind: KindDef, where: Where, omit: Record<string, boolean>, opts: VariantOptions): AsyncGenerator<Row[]> {
  const size = opts.pageSize ?? 2000;
  const self = selfReference(kind);
  if (!self) return yield* keyset(db, kind, where, omit, size);
  if (opts.tree === "byParent" && kind.parent) {
    yield* byParent(db, kind, kind.parent, self.field, where, omit, size);
    return;
  }
  if (opts.tree === "dfs") {
    // parents first without rescanning: roots, then the children of each page, depth-first
    // Prisma caps bind parameters (P2029 beyond SQLite's limit it assumes): parents in slices
    const IN_SLICE = 500;
    const below = async function* (ids: string[]): AsyncGenerator<Row[]> {
      for (let i = 0; i < ids.length; i += IN_SLICE) {
        const slice = ids.slice(i, i + IN_SLICE);
        for await (const page of keyset(db, kind, { AND: [where, { [self.field]: { in: slice } }] }, omit, size)) {
          yield page;
          yield* below(page.map((r) => r.id as string));
        }
      }
    };
    for await (const page of keyset(db, kind, { AND: [where, { [self.field]: null }] }, omit, size)) {
      yield page;
      yield* below(page.map((r) => r.id as string));
    }
    return;
  }
  for (let depth = 0; ; depth++) {
    let cond: Where = { [self.field]: null };
    for (let i = 0; i < depth; i++) cond = { [self.relation!]: cond };
    let any = false;
    for await (const page of keyset(db, kind, { AND: [where, cond] }, omit, size)) {
      any = true;
      yield page;
    }
    if (!any) return;
  }
}

/**
 * A self-referencing kind that travels with a parent (claims in a summary): the
 * parents' ids by keyset, their children by slices of ids with no ORDER BY (so the
 * planner takes the parent-id index rather than the owner index for the sort),
 * then parents-first in memory within the batch (a claim's parent claim is in
 * the same summary).
 */
async function* byParent(
  db: Db,
  kind: KindDef,
  parent: NonNullable<KindDef["parent"]>,
  selfField: string,
  where: Where,
  omit: Record<string, boolean>,
  size: number,
): AsyncGenerator<Row[]> {
  const parentDef = kindDef(parent.kind)!;
  const pd = delegate(db, parentDef);
  const d = delegate(db, kind);
  const ownerOnly = isOwnerOnly(where);
  const ownerId = (where as { ownerId?: string }).ownerId;
  const pWhere = { ownerId };
  const IN_SLICE = 500;
  let last: string | undefined;
  for (;;) {
    const ids = (
      await pd.findMany({ where: last === undefined ? pWhere : { AND: [pWhere, { id: { gt: last } }] }, orderBy: { id: "asc" }, take: size, select: { id: true } })
    ).map((r) => r.id as string);
    if (!ids.length) return;
    for (let i = 0; i < ids.length; i += IN_SLICE) {
      const slice = ids.slice(i, i + IN_SLICE);
      const inSlice = { [parent.field]: { in: slice } };
      let rows = await d.findMany({ where: ownerOnly ? inSlice : { AND: [where, inSlice] }, ...(Object.keys(omit).length ? { omit } : {}) });
      if (ownerOnly) rows = rows.filter((r) => r.ownerId === ownerId);
      const byId = new Map(rows.map((r) => [r.id as string, r]));
      const depth = new Map<string, number>();
      const depthOf = (r: Row): number => {
        const id = r.id as string;
        let dd = depth.get(id);
        if (dd !== undefined) return dd;
        const p = r[selfField];
        dd = typeof p === "string" && byId.has(p) && p !== id ? depthOf(byId.get(p)!) + 1 : 0;
        depth.set(id, dd);
        return dd;
      };
      rows.sort((a, b) => depthOf(a) - depthOf(b) || ((a.id as string) < (b.id as string) ? -1 : 1));
      for (let j = 0; j < rows.length; j += size) yield rows.slice(j, j + size);
    }
    if (ids.length < size) return;
    last = ids[ids.length - 1];
  }
}

async function resolvable(db: Db, sel: Selection, kinds: readonly KindName[], ids: Set<string>): Promise<Set<string>> {
  const found = new Set<string>();
  for (const k of kinds) {
    const where = sel.where(k);
    if (!where || !ids.size) continue;
    const rows = await delegate(db, kindDef(k)!).findMany({ where: { AND: [where, { id: { in: [...ids] } }] }, select: { id: true } });
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
  return rows.filter((row) => refs.every((ref) => typeof row[ref.field] !== "string" || !refKinds(ref, row) || ok.has(row[ref.field] as string)));
}

const columnCache = new Map<KindName, { field: string; vector: boolean }[]>();

/** toLineData, with the column list cached per kind. */
function leanLineData(kind: KindDef, row: Row, filter: ExportFilter): Row {
  let cols = columnCache.get(kind.kind);
  if (!cols) {
    cols = lineColumns(kind).map((c) => ({ field: c.field, vector: c.field === kind.vectorField }));
    columnCache.set(kind.kind, cols);
  }
  const out: Row = {};
  for (const c of cols) {
    const v = row[c.field];
    if (v === undefined) continue;
    if (c.vector) {
      if (filter.includeVectors && v !== null) out[c.field] = Buffer.from(v as Uint8Array).toString("base64");
      continue;
    }
    if (v instanceof Date) out[c.field] = v.toISOString();
    else if (typeof v === "bigint") out[c.field] = Number(v);
    else if (v instanceof Uint8Array) out[c.field] = Buffer.from(v).toString("base64");
    else out[c.field] = v;
  }
  return kind.exportTransform ? kind.exportTransform(out, filter) : out;
}

export async function* variantRecords(db: Db, ownerId: string, filter: ExportFilter, opts: VariantOptions): AsyncGenerator<ExportRecord[]> {
  const sel = variantSelection(ownerId, filter, opts);
  for (const kind of KINDS) {
    const where = sel.where(kind.kind);
    if (!where) continue;
    const omit: Record<string, boolean> = kind.vectorField && !filter.includeVectors ? { [kind.vectorField]: true } : {};
    if (opts.lean && !(opts.tree === "byParent" && kind.parent && selfReference(kind))) omit.ownerId = true;
    const lineData = opts.lean ? leanLineData : toLineData;
    for await (const page of kindPages(db, kind, where, omit, opts)) {
      const kept = await dropUnresolved(db, sel, kind, page);
      if (kept.length) yield kept.map((row) => ({ kind, data: lineData(kind, row, filter) }));
    }
  }
}

export async function variantCount(db: Db, ownerId: string, filter: ExportFilter, opts: VariantOptions): Promise<KindCounts> {
  const sel = variantSelection(ownerId, filter, opts);
  const counts: KindCounts = {};
  for (const kind of KINDS) {
    const where = sel.where(kind.kind);
    if (!where) continue;
    if (!softRefs(kind).length) {
      counts[kind.kind] = await delegate(db, kind).count({ where });
      continue;
    }
    let n = 0;
    for await (const page of keyset(db, kind, where, {}, opts.pageSize ?? 2000)) n += (await dropUnresolved(db, sel, kind, page)).length;
    counts[kind.kind] = n;
  }
  return counts;
}

async function* jsonlChunks(metadata: object, pages: AsyncIterable<ExportRecord[]>, stats: LineStats, opts: VariantOptions): AsyncGenerator<Buffer> {
  let buf = JSON.stringify({ type: "metadata", data: metadata }) + "\n";
  stats.lines++;
  const inPage = opts.chunk === "64k";
  for await (const page of pages) {
    for (const r of page) {
      buf += JSON.stringify({ type: r.kind.kind, data: r.data }) + "\n";
      stats.counts[r.kind.kind] = (stats.counts[r.kind.kind] ?? 0) + 1;
      if (inPage && buf.length >= CHUNK_BYTES) {
        yield Buffer.from(buf);
        buf = "";
      }
    }
    stats.lines += page.length;
    if (buf.length >= CHUNK_BYTES) {
      yield Buffer.from(buf);
      buf = "";
    }
  }
  if (buf) yield Buffer.from(buf);
}

/** writeExport's ZIP path over the variant pipeline (no OpenMemory/JSONL, no progress callback). */
export async function writeExportVariant(db: Db, ownerId: string, filter: ExportFilter, sink: Writable, opts: VariantOptions) {
  const owner = await db.user.findUniqueOrThrow({ where: { id: ownerId } });
  const now = new Date();
  const planned = await variantCount(db, owner.id, filter, opts);
  const total = Object.values(planned).reduce((a, b) => a + (b ?? 0), 0);
  const metadata: MetadataLine = {
    exporterUserId: owner.id,
    exportVersion: String(FORMAT_VERSION),
    exportedAt: now.toISOString(),
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    generator: GENERATOR,
    filter: describeFilter(filter),
  };
  const stats: LineStats = { lines: 0, counts: {} };
  const lines = jsonlChunks(metadata, variantRecords(db, owner.id, filter, opts), stats, opts);
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const done = pipeline(zip, sink);
  const digest: Digest = { bytes: 0, sha256: "" };
  const records = Readable.from(measured(gzipped(lines), digest));
  zip.append(records, { name: RECORDS_PATH, store: true, date: now });
  const failed = once(records, "error").then(([e]) => {
    zip.abort();
    throw e;
  });
  await Promise.race([once(records, "end"), failed, done]);
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    generatedAt: now.toISOString(),
    generator: GENERATOR,
    exporter: { userId: owner.id, externalId: owner.externalId ?? null },
    filter: describeFilter(filter),
    counts: stats.counts,
    files: [{ path: RECORDS_PATH, bytes: digest.bytes, sha256: digest.sha256, lines: stats.lines }],
  };
  zip.append(Buffer.from(JSON.stringify(manifest, null, 2) + "\n"), { name: MANIFEST_PATH, date: now });
  await zip.finalize();
  await done;
  return { counts: stats.counts as KindCounts, records: stats.lines - 1, total, planned };
}
