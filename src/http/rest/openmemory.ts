// OpenMemory's backup routes (reference/openmemory-backup-endpoints.md) over
// stowage's engine, with stowage's bearer-token auth:
//
//   POST /api/v1/backup/export   JSON {user_id, app_id, from_date, to_date, include_vectors}
//                                → OpenMemory's ZIP (memories.json + memories.jsonl.gz), streamed
//   POST /api/v1/backup/import   multipart {file, user_id, mode} (mode also as ?mode=; the form field wins)
//                                → JSON counts + the history record id
//
// Errors answer `{detail, code, timestamp}` as OpenMemory's documents show.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Viewer } from "../../auth/users.js";
import { writeExport } from "../../engine/export.js";
import { resolveExportFilter } from "../../engine/filter.js";
import { importArchive } from "../../engine/import/service.js";
import type { KindPlanCounts } from "../../engine/import/types.js";
import { withSnapshot } from "../../engine/snapshot.js";
import type { Services } from "../../services.js";
import { contentDisposition } from "../downloads.js";
import { badRequest, errorInfo, namedUser, parseImportOptions, readJsonBody, readUploadForm, refuseMethod, sendJson, viewerOf } from "./common.js";

export const OPENMEMORY_PREFIX = "/api/v1/backup";

/** OpenMemory's names for the memory kinds (its memories.json sections). */
const OM_NAMES: Record<string, string> = {
  app: "apps",
  category: "categories",
  memory: "memories",
  memoryCategory: "memory_categories",
  memoryStatus: "status_history",
  accessControl: "access_controls",
};

function fail(req: IncomingMessage, res: ServerResponse, status: number, code: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  sendJson(req, res, status, { detail, code, timestamp: new Date().toISOString(), ...extra }, headers);
}

function failWith(services: Services, req: IncomingMessage, res: ServerResponse, err: unknown, extra: Record<string, unknown> = {}) {
  if (res.headersSent) {
    // the archive was under way: the client sees a cut response, never a ZIP that looks whole
    if ((err as NodeJS.ErrnoException)?.code !== "ERR_STREAM_PREMATURE_CLOSE") services.logger.warn({ err, path: req.url }, "OpenMemory export stream failed");
    return void res.destroy();
  }
  const info = errorInfo(err);
  if (!info) {
    services.logger.error({ err, path: req.url }, "OpenMemory route failed");
    return fail(req, res, 500, "INTERNAL", "internal error");
  }
  fail(req, res, info.status, info.code, info.message, { ...info.details, ...extra });
}

async function requireViewer(services: Services, req: IncomingMessage, res: ServerResponse): Promise<Viewer | null> {
  const viewer = await viewerOf(services, req);
  if (!viewer) fail(req, res, 401, "UNAUTHENTICATED", "Not authenticated: send Authorization: Bearer <token>", {}, { "www-authenticate": 'Bearer realm="stowage"' });
  return viewer;
}

// ---------------------------------------------------------------- export

/** A unix timestamp in seconds (a JSON integer, or a string of one), as OpenMemory's `int` fields take it. */
const unixSeconds = (name: string) =>
  z
    .union([z.number(), z.string().regex(/^\s*-?\d+\s*$/, `${name} must be a unix timestamp in seconds`).transform(Number)])
    .nullish()
    .superRefine((v, ctx) => {
      if (v == null) return;
      if (!Number.isInteger(v)) ctx.addIssue({ code: "custom", message: `${name} must be a whole number of seconds` });
      else if (Number.isNaN(new Date(v * 1000).getTime())) ctx.addIssue({ code: "custom", message: `${name} is out of range` });
    });

const exportBody = z.object({
  user_id: z.union([z.string(), z.number().transform(String)]).nullish(),
  app_id: z.string().nullish(),
  from_date: unixSeconds("from_date"),
  to_date: unixSeconds("to_date"),
  include_vectors: z
    .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
    .nullish(),
});

async function exportRoute(services: Services, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const viewer = await requireViewer(services, req, res);
  if (!viewer) return;
  const raw = await readJsonBody(req, services.config.maxJsonBodyBytes);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw badRequest("the body must be a JSON object", "INVALID_BODY");
  const parsed = exportBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`${issue.path.join(".") || "body"}: ${issue.message}`, "INVALID_BODY", { field: issue.path.join(".") });
  }
  const body = parsed.data;
  const owner = await namedUser(services.db, viewer, body.user_id);
  const filter = await resolveExportFilter(services.db, owner.id, {
    sections: ["MEMORIES"],
    appId: body.app_id || null,
    from: body.from_date != null ? new Date(body.from_date * 1000) : null,
    to: body.to_date != null ? new Date(body.to_date * 1000) : null,
    includeVectors: body.include_vectors ?? false,
  });
  // OpenMemory names the file after the user_id it was asked for
  const filename = `memories_export_${body.user_id?.trim() || owner.email}.zip`;
  await withSnapshot(services.config.database, async (db) => {
    res.writeHead(200, {
      "content-type": "application/zip",
      "content-disposition": contentDisposition(filename, "memories_export.zip"),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    await writeExport(db, { ownerId: owner.id, filter, format: "OPENMEMORY" }, res);
  });
}

// ---------------------------------------------------------------- import

function omTotals(counts: Record<string, KindPlanCounts>) {
  const totals = { created: 0, updated: 0, skipped: 0, remapped: 0, imported: 0 };
  const imported: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  for (const [kind, c] of Object.entries(counts)) {
    totals.created += c.create;
    totals.updated += c.update;
    totals.skipped += c.skip;
    totals.remapped += c.remap;
    const name = OM_NAMES[kind] ?? kind;
    imported[name] = c.create + c.update + c.remap;
    skipped[name] = c.skip;
  }
  totals.imported = totals.created + totals.updated + totals.remapped;
  return { totals, imported, skipped };
}

async function importRoute(services: Services, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const viewer = await requireViewer(services, req, res);
  if (!viewer) return;
  // the file is staged as it arrives (fields may follow it); who it is for is checked once the form is read
  const form = await readUploadForm(services, req, viewer.id);
  let answer: () => void;
  try {
    const options = parseImportOptions(form.fields, url.searchParams);
    const named = form.fields.get("user_id")?.trim() || url.searchParams.get("user_id")?.trim() || null;
    const target = await namedUser(services.db, viewer, named);
    const { upload, path } = form.upload;
    const result = await importArchive(
      services,
      { requesterId: viewer.id, targetUserId: target.id, file: { path, filename: upload.filename, sha256: upload.sha256, byteSize: upload.byteSize }, options },
    );
    const record = result.record;
    if (result.error) {
      const error = result.error;
      answer = () => failWith(services, req, res, error, { import_id: record.id, status: record.status });
    } else {
      const counts = result.outcome!.counts as Record<string, KindPlanCounts>;
      const { totals, imported, skipped } = omTotals(counts);
      const body = {
        message: `Import completed into user "${named ?? target.email}"`,
        import_id: record.id,
        status: record.status,
        user_id: named ?? target.email,
        mode: options.mode.toLowerCase(),
        format: record.format,
        cross_user: record.crossUser,
        exporter_user_id: record.exporterUserId,
        totals,
        imported,
        skipped,
        counts,
        warnings: result.outcome!.warnings,
      };
      answer = () => sendJson(req, res, 200, body);
    }
  } finally {
    // gone before the client hears back
    await form.upload.release();
  }
  answer();
}

// ---------------------------------------------------------------- routing

const ROUTES: Record<string, (services: Services, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>> = {
  [`${OPENMEMORY_PREFIX}/export`]: exportRoute,
  [`${OPENMEMORY_PREFIX}/import`]: importRoute,
};

/** Answers a request under /api/v1/backup; unknown paths get 404. */
export async function handleOpenMemory(services: Services, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = ROUTES[url.pathname.replace(/\/+$/, "")];
  if (!route) return fail(req, res, 404, "NOT_FOUND", `no route ${url.pathname}`);
  const answer = (status: number, code: string, message: string, headers: Record<string, string>) => fail(req, res, status, code, message, {}, headers);
  if (refuseMethod(req, ["POST"], answer)) return;
  try {
    await route(services, req, res, url);
  } catch (err) {
    failWith(services, req, res, err);
  }
}
