// exportStats: exact counts of what an export with this filter would write,
// annotation frame totals, and a size estimate from a compressed sample.
import { gzipSync } from "node:zlib";
import type { Db } from "../db/client.js";
import { KINDS, toLineData, type ExportFilter, type KindName } from "./kinds/index.js";
import { countSelected, delegate, type KindCounts } from "./records.js";
import { selectionFor } from "./selection.js";

const SAMPLE_ROWS = 200;
/** Above this an export gets a warning: it is big enough to plan for. */
export const LARGE_EXPORT_BYTES = 512 * 1024 ** 2;

export interface ExportStats {
  counts: KindCounts;
  total: number;
  keyframeCount: number;
  interpolatedFrameCount: number;
  sequenceCount: number;
  estimatedBytes: number;
  warning: string | null;
}

/** Average compressed line size of a kind, from the first rows it would export. */
async function bytesPerRecord(db: Db, kind: (typeof KINDS)[number], where: object, filter: ExportFilter): Promise<number> {
  const omit = kind.vectorField && !filter.includeVectors ? { omit: { [kind.vectorField]: true } } : {};
  const rows = await delegate(db, kind).findMany({ where, take: SAMPLE_ROWS, orderBy: { id: "asc" }, ...omit });
  if (!rows.length) return 0;
  const text = rows.map((r) => JSON.stringify({ type: kind.kind, data: toLineData(kind, r, filter) })).join("\n") + "\n";
  return gzipSync(text, { level: 1 }).length / rows.length;
}

export async function exportStats(db: Db, ownerId: string, filter: ExportFilter): Promise<ExportStats> {
  const counts = await countSelected(db, ownerId, filter);
  const sel = selectionFor(ownerId, filter);
  let estimatedBytes = 512; // zip framing and manifest
  for (const kind of KINDS) {
    const n = counts[kind.kind] ?? 0;
    if (n) estimatedBytes += n * (await bytesPerRecord(db, kind, sel.where(kind.kind)!, filter));
  }
  const annotations = sel.where("annotation" as KindName);
  const agg = annotations
    ? await db.annotation.aggregate({ where: annotations, _sum: { keyframeCount: true, interpolatedFrameCount: true }, _count: { _all: true } })
    : null;
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  estimatedBytes = Math.round(estimatedBytes);
  return {
    counts,
    total,
    keyframeCount: agg?._sum.keyframeCount ?? 0,
    interpolatedFrameCount: agg?._sum.interpolatedFrameCount ?? 0,
    sequenceCount: agg?._count._all ?? 0,
    estimatedBytes,
    warning:
      estimatedBytes > LARGE_EXPORT_BYTES
        ? `This export is about ${(estimatedBytes / 1024 ** 2).toFixed(0)} MiB; it runs in the background, and filters (sections, dates, apps, videos) make it smaller.`
        : null,
  };
}
