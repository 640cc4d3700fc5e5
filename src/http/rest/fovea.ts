// FOVEA's export/import routes (reference/fovea-export-import.md) over
// stowage's engine, with stowage's bearer-token auth. Everything is scoped to
// the requester: exports and stats read their data, imports write into their
// account, history lists the imports they made.
//
//   GET  /api/export[/all]       JSONL in FOVEA's line shapes, metadata line first (format=jsonl|json)
//   GET  /api/export/personas    personas + ontologies
//   GET  /api/export/world       world objects
//   GET  /api/export/summaries   summaries + claims + claim relations
//   GET  /api/export/stats       counts, keyframe / interpolated frame totals, size estimate (JSON)
//   POST /api/import             multipart `file` (+ mode, strict, resolutions, FOVEA's `options` JSON)
//   POST /api/import/preview     the same, nothing written: the conflict report
//   GET  /api/import/history     the requester's imports (limit, offset)
//
// Export filters (query): personaId/personaIds, videoId/videoIds, type/annotationTypes
// (repeated or comma-separated), includeInterpolated. Errors answer
// `{error, message, code, ...}` with the status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Viewer } from "../../auth/users.js";
import { writeFoveaExport } from "../../engine/archive/fovea-writer.js";
import { resolveExportFilter, type ExportFilterInput } from "../../engine/filter.js";
import { conflictGroupsOf, failureFrom } from "../../engine/import/history.js";
import { importArchive, previewArchive } from "../../engine/import/service.js";
import type { ImportRecord } from "../../generated/sqlite/client.js";
import type { Conflict, ImportOptions, KindPlanCounts } from "../../engine/import/types.js";
import type { Section } from "../../engine/kinds/index.js";
import { withSnapshot } from "../../engine/snapshot.js";
import { exportStats } from "../../engine/stats.js";
import type { Services } from "../../services.js";
import { contentDisposition } from "../downloads.js";
import { badRequest, errorInfo, listParam, parseBool, parseImportOptions, readUploadForm, refuseMethod, sendJson, viewerOf, type UploadForm } from "./common.js";

/** FOVEA's plural names for what an export or import holds. */
const FOVEA_NAMES: Record<string, string> = {
  persona: "personas",
  ontology: "ontologies",
  worldEntity: "entities",
  worldLocation: "locations",
  worldEvent: "events",
  worldTime: "times",
  worldCollection: "collections",
  worldRelation: "relations",
  video: "videos",
  videoSummary: "summaries",
  claim: "claims",
  claimRelation: "claimRelations",
  annotation: "annotations",
  app: "apps",
  category: "categories",
  memory: "memories",
  memoryCategory: "memoryCategories",
  memoryStatus: "memoryStatuses",
  accessControl: "accessControls",
};

const named = (kind: string) => FOVEA_NAMES[kind] ?? kind;

const FOVEA_SECTIONS: Section[] = ["PERSONAS", "WORLD", "SUMMARIES", "ANNOTATIONS"];

function fail(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  sendJson(req, res, status, { error: STATUS_CODES[status] ?? "Error", message, code, ...extra }, headers);
}

function failWith(services: Services, req: IncomingMessage, res: ServerResponse, err: unknown, extra: Record<string, unknown> = {}) {
  if (res.headersSent) {
    if ((err as NodeJS.ErrnoException)?.code !== "ERR_STREAM_PREMATURE_CLOSE") services.logger.warn({ err, path: req.url }, "FOVEA export stream failed");
    return void res.destroy();
  }
  const info = errorInfo(err);
  if (!info) {
    services.logger.error({ err, path: req.url }, "FOVEA route failed");
    return fail(req, res, 500, "INTERNAL", "internal error");
  }
  fail(req, res, info.status, info.code, info.message, { ...info.details, ...extra });
}

// ---------------------------------------------------------------- export

interface ExportQuery {
  filter: ExportFilterInput;
  format: "jsonl" | "json";
}

function exportQuery(params: URLSearchParams, sections: Section[]): ExportQuery {
  const types = listParam(params, "type", "annotationTypes")?.map((t) => t.toLowerCase()) ?? null;
  const badType = types?.find((t) => t !== "type" && t !== "object");
  if (badType !== undefined) throw badRequest(`annotation types are "type" and "object", got ${JSON.stringify(badType)}`, "BAD_REQUEST", { field: "annotationTypes" });
  const format = (params.get("format") ?? "jsonl").trim().toLowerCase() || "jsonl";
  if (format !== "jsonl" && format !== "json") throw badRequest(`format must be jsonl or json, got ${JSON.stringify(params.get("format"))}`, "BAD_REQUEST", { field: "format" });
  return {
    format,
    filter: {
      sections,
      personaIds: listParam(params, "personaId", "personaIds"),
      videoIds: listParam(params, "videoId", "videoIds"),
      annotationTypes: types as ("type" | "object")[] | null,
      includeInterpolated: parseBool(params.get("includeInterpolated"), "includeInterpolated") ?? false,
    },
  };
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

const exportRoute =
  (name: string, sections: Section[]) =>
  async (services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const q = exportQuery(url.searchParams, sections);
    const filter = await resolveExportFilter(services.db, viewer.id, q.filter);
    const now = new Date();
    const filename = `fovea-${name}-${stamp(now)}.${q.format}`;
    await withSnapshot(services.config.database, async (db) => {
      res.writeHead(200, {
        "content-type": q.format === "json" ? "application/json; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": contentDisposition(filename, `fovea-${name}.${q.format}`),
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      await writeFoveaExport(db, { ownerId: viewer.id, filter, format: q.format, now }, res);
    });
  };

async function statsRoute(services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const q = exportQuery(url.searchParams, FOVEA_SECTIONS);
  const filter = await resolveExportFilter(services.db, viewer.id, q.filter);
  const stats = await withSnapshot(services.config.database, (db) => exportStats(db, viewer.id, filter));
  const counts: Record<string, number> = {};
  for (const [kind, n] of Object.entries(stats.counts)) if (n) counts[named(kind)] = n;
  sendJson(req, res, 200, {
    totalSize: stats.estimatedBytes,
    totalSizeMB: `${(stats.estimatedBytes / 1024 ** 2).toFixed(2)}MB`,
    annotationCount: stats.counts.annotation ?? 0,
    sequenceCount: stats.sequenceCount,
    keyframeCount: stats.keyframeCount,
    interpolatedFrameCount: stats.interpolatedFrameCount,
    includeInterpolated: filter.includeInterpolated ?? false,
    total: stats.total,
    counts,
    warning: stats.warning,
  });
}

// ---------------------------------------------------------------- import

function byName(counts: Record<string, KindPlanCounts>, pick: (c: KindPlanCounts) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, c] of Object.entries(counts)) out[named(kind)] = pick(c);
  return out;
}

const conflictJson = (c: Conflict) => ({ ...c, originalId: c.sourceId, details: c.message });

/** Reads the form, runs `fn` on it, removes the upload, then answers what `fn` returned: the upload is gone before the client hears back. */
async function withForm(services: Services, viewer: Viewer, req: IncomingMessage, url: URL, fn: (form: UploadForm, options: ImportOptions) => Promise<() => void>): Promise<void> {
  const form = await readUploadForm(services, req, viewer.id);
  let answer: () => void;
  try {
    answer = await fn(form, parseImportOptions(form.fields, url.searchParams));
  } finally {
    await form.upload.release();
  }
  answer();
}

const fileOf = (form: UploadForm) => ({
  path: form.upload.path,
  filename: form.upload.upload.filename,
  sha256: form.upload.upload.sha256,
  byteSize: form.upload.upload.byteSize,
});

async function previewRoute(services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  await withForm(services, viewer, req, url, async (form, options) => {
    const { plan, format } = await previewArchive(services, fileOf(form), viewer.id, options);
    const counts = plan.counts as Record<string, KindPlanCounts>;
    const body = {
      format,
      exporterUserId: plan.exporterUserId,
      crossUser: plan.crossUser,
      records: plan.records,
      mode: options.mode.toLowerCase(),
      strict: options.strict,
      counts: byName(counts, (c) => c.create + c.update + c.skip + c.remap),
      kinds: counts,
      conflictCount: plan.conflictTotal,
      conflictGroups: plan.conflictGroups,
      conflicts: plan.conflicts.map(conflictJson),
      warningCount: plan.warningTotal,
      warnings: plan.warnings,
      problemCount: plan.problemCount,
      problemGroups: plan.problemGroups,
    };
    return () => sendJson(req, res, 200, body);
  });
}

async function importRoute(services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  await withForm(services, viewer, req, url, async (form, options) => {
    const result = await importArchive(
      services,
      { requesterId: viewer.id, targetUserId: viewer.id, file: fileOf(form), options },
    );
    const record = result.record;
    const error = result.error;
    if (error) return () => failWith(services, req, res, error, { success: false, importId: record.id, status: record.status });
    const outcome = result.outcome!;
    const counts = outcome.counts as Record<string, KindPlanCounts>;
    const body = {
      success: true,
      importId: record.id,
      status: record.status,
      format: record.format,
      crossUser: record.crossUser,
      exporterUserId: record.exporterUserId,
      mode: options.mode.toLowerCase(),
      strict: options.strict,
      summary: {
        totalRecords: outcome.records,
        importedItems: byName(counts, (c) => c.create + c.update + c.remap),
        skippedItems: byName(counts, (c) => c.skip),
      },
      kinds: counts,
      conflictCount: outcome.conflicts,
      warnings: outcome.warnings,
    };
    return () => sendJson(req, res, 200, body);
  });
}

function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw == null || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw badRequest(`${name} must be a whole number from ${min} to ${max}`, "BAD_REQUEST", { field: name });
  const n = Number(raw);
  if (n < min || n > max) throw badRequest(`${name} must be a whole number from ${min} to ${max}`, "BAD_REQUEST", { field: name });
  return n;
}

/** A failed import's typed error as the route's own error bodies tell it (code, line, grouped problems). */
function failureBody(r: Pick<ImportRecord, "failure">): Record<string, unknown> | null {
  const info = errorInfo(failureFrom(r));
  return info && { code: info.code, message: info.message, ...info.details };
}

async function historyRoute(services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const limit = intParam(url.searchParams, "limit", 50, 1, 100);
  const offset = intParam(url.searchParams, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  const where = { requestedById: viewer.id };
  const [rows, total] = await Promise.all([
    services.db.importRecord.findMany({ where, orderBy: [{ startedAt: "desc" }, { id: "desc" }], take: limit, skip: offset }),
    services.db.importRecord.count({ where }),
  ]);
  sendJson(req, res, 200, {
    imports: rows.map((r) => {
      const counts = (r.counts ?? {}) as unknown as Record<string, KindPlanCounts>;
      const sum = (pick: (c: KindPlanCounts) => number) => Object.values(counts).reduce((a, c) => a + pick(c), 0);
      return {
        id: r.id,
        filename: r.filename,
        success: r.status === "SUCCEEDED",
        status: r.status,
        format: r.format,
        mode: r.mode.toLowerCase(),
        itemsImported: sum((c) => c.create + c.update + c.remap),
        itemsSkipped: sum((c) => c.skip),
        crossUser: r.crossUser,
        exporterUserId: r.exporterUserId,
        targetUserId: r.targetUserId,
        byteSize: Number(r.byteSize),
        sha256: r.sha256,
        conflictCount: r.conflictCount,
        conflictGroups: conflictGroupsOf(r),
        error: r.error,
        failure: failureBody(r),
        createdAt: r.startedAt.toISOString(),
        finishedAt: r.finishedAt?.toISOString() ?? null,
      };
    }),
    total,
    limit,
    offset,
  });
}

// ---------------------------------------------------------------- routing

type Route = (services: Services, viewer: Viewer, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

const ROUTES: Record<string, { method: "GET" | "POST"; run: Route }> = {
  "/api/export": { method: "GET", run: exportRoute("export", FOVEA_SECTIONS) },
  "/api/export/all": { method: "GET", run: exportRoute("export", FOVEA_SECTIONS) },
  "/api/export/personas": { method: "GET", run: exportRoute("personas", ["PERSONAS"]) },
  "/api/export/world": { method: "GET", run: exportRoute("world", ["WORLD"]) },
  "/api/export/summaries": { method: "GET", run: exportRoute("summaries", ["SUMMARIES"]) },
  "/api/export/stats": { method: "GET", run: statsRoute },
  "/api/import": { method: "POST", run: importRoute },
  "/api/import/preview": { method: "POST", run: previewRoute },
  "/api/import/history": { method: "GET", run: historyRoute },
};

export const isFoveaPath = (pathname: string) => /^\/api\/(export|import)(\/|$)/.test(pathname);

/** Answers a request under /api/export or /api/import; unknown paths get 404. */
export async function handleFovea(services: Services, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = ROUTES[url.pathname.replace(/\/+$/, "")];
  if (!route) return fail(req, res, 404, "NOT_FOUND", `no route ${url.pathname}`);
  const answer = (status: number, code: string, message: string, headers: Record<string, string>) => fail(req, res, status, code, message, {}, headers);
  if (refuseMethod(req, [route.method], answer)) return;
  try {
    const viewer = await viewerOf(services, req);
    if (!viewer) return fail(req, res, 401, "UNAUTHENTICATED", "Not authenticated: send Authorization: Bearer <token>", {}, { "www-authenticate": 'Bearer realm="stowage"' });
    await route.run(services, viewer, req, res, url);
  } catch (err) {
    failWith(services, req, res, err);
  }
}
