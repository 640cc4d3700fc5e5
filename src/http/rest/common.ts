// What the REST compatibility routes share: JSON answers, bearer-token auth,
// the engine's typed errors as HTTP statuses, JSON bodies with a size limit,
// and multipart forms whose `file` part is streamed into a staged upload
// (never whole in memory, never kept when cut or refused).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import busboy from "busboy";
import { z } from "zod";
import { authenticate, type Viewer } from "../../auth/users.js";
import type { Db } from "../../db/client.js";
import { canonicalType } from "../../engine/archive/line-parser.js";
import {
  ForbiddenError,
  InvalidArchiveError,
  NotFoundError,
  UnsupportedFormatVersionError,
  UploadTooLargeError,
  ValidationError,
} from "../../engine/errors.js";
import type { ImportOptions, ResolutionInput, Resolution } from "../../engine/import/types.js";
import { KIND_NAMES, kindDef, type KindName } from "../../engine/kinds/index.js";
import { resolveUpload, type ResolvedUpload } from "../../engine/uploads.js";
import type { Services } from "../../services.js";

/** Room for the multipart envelope (boundaries, part headers, form fields) around the file. */
export const MULTIPART_OVERHEAD = 1024 ** 2;
/** Bodies up to this size are read and discarded after an early answer; larger ones close the connection. */
const DRAIN_LIMIT = 1024 ** 2;

/** A refusal of the transport itself (bad JSON, bad form, wrong method...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = "BAD_REQUEST", details: Record<string, unknown> = {}) => new HttpError(400, code, message, details);

export interface ErrorInfo {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** The engine's typed errors (and HttpError) as status + code + message; null for anything unexpected (a 500). */
export function errorInfo(err: unknown): ErrorInfo | null {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  if (err instanceof UploadTooLargeError) return { status: 413, code: err.code, message: err.message, details: { maxBytes: err.maxBytes } };
  if (err instanceof InvalidArchiveError) {
    const lines = err.problemCount ? { problemCount: err.problemCount, problemGroups: err.problemGroups } : {};
    return { status: 400, code: err.code, message: err.message, details: err.line != null ? { line: err.line, ...lines } : lines };
  }
  if (err instanceof UnsupportedFormatVersionError) {
    return { status: 400, code: err.code, message: err.message, details: { version: err.version, supportedVersions: err.supportedVersions } };
  }
  if (err instanceof ValidationError) return { status: 400, code: err.code, message: err.message, details: err.issues.length ? { issues: err.issues } : {} };
  if (err instanceof ForbiddenError) return { status: 403, code: err.code, message: err.message, details: {} };
  if (err instanceof NotFoundError) return { status: 404, code: err.code, message: err.message, details: {} };
  return null;
}

/** Whether the request still has body bytes on the wire that nobody read. */
function bodyUnread(req: IncomingMessage): boolean {
  return !req.complete && (req.headers["content-length"] !== "0" || req.headers["transfer-encoding"] !== undefined);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body, null, 2) + "\n";
  const h: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  };
  // an answer before the body was read: small bodies are drained (the connection stays usable), big ones cut
  if (bodyUnread(req)) {
    const declared = Number(req.headers["content-length"] ?? NaN);
    if (!(declared <= DRAIN_LIMIT)) h.connection = "close";
  }
  res.writeHead(status, h);
  res.end(req.method === "HEAD" ? undefined : text);
}

export function viewerOf(services: Services, req: IncomingMessage): Promise<Viewer | null> {
  return authenticate(services.db, req.headers.authorization);
}

/** 405 unless the method is one of `allowed`; returns true when it answered. */
export function refuseMethod(req: IncomingMessage, allowed: string[], answer: (status: number, code: string, message: string, headers: Record<string, string>) => void): boolean {
  if (allowed.includes(req.method ?? "")) return false;
  answer(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed here; use ${allowed.join(" or ")}`, { allow: allowed.join(", ") });
  return true;
}

// ---------------------------------------------------------------- values

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** A boolean form field or query parameter; undefined when absent or empty. */
export function parseBool(value: string | null | undefined, name: string): boolean | undefined {
  if (value == null || value.trim() === "") return undefined;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(`${name} must be true or false, got ${JSON.stringify(value)}`, "BAD_REQUEST", { field: name });
}

/** A list parameter: repeated and/or comma-separated, under any of `names`; null when absent. */
export function listParam(params: URLSearchParams, ...names: string[]): string[] | null {
  const out: string[] = [];
  let seen = false;
  for (const name of names)
    for (const raw of params.getAll(name)) {
      seen = true;
      for (const part of raw.split(",")) if (part.trim()) out.push(part.trim());
    }
  return seen ? [...new Set(out)] : null;
}

// ---------------------------------------------------------------- bodies

/** The JSON body (an empty body is `{}`); 400 when it is not JSON, 413 past `maxBytes`. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > maxBytes) throw new HttpError(413, "BODY_TOO_LARGE", `the request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`, { maxBytes });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, "BODY_TOO_LARGE", `the request body exceeds the limit of ${maxBytes} bytes`, { maxBytes });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the body is not valid JSON: ${(e as Error).message}`, "INVALID_JSON");
  }
}

/** Counts the request's bytes and fails past `max`: a chunked body has no Content-Length to check first. */
class ByteLimit extends Transform {
  private bytes = 0;
  constructor(
    private readonly maxRequest: number,
    private readonly maxFile: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxRequest) cb(new UploadTooLargeError(`the upload exceeds the limit of ${this.maxFile} bytes`, this.maxFile));
    else cb(null, chunk);
  }
}

export interface UploadForm {
  /** text fields, the first value of each name */
  fields: Map<string, string>;
  /** the staged file: call `release()` when done (it deletes the upload) */
  upload: ResolvedUpload;
}

/**
 * Reads a multipart/form-data body: text fields, and the part named
 * `fileField` streamed into a staged upload of `userId` as it arrives
 * (fields may come before or after it). Throws (after releasing whatever
 * was staged) a 400 HttpError for a malformed form, a missing or second
 * file, a too-long field; UploadTooLargeError past `maxUploadBytes`;
 * InvalidArchiveError for bytes stowage cannot read.
 */
export async function readUploadForm(services: Services, req: IncomingMessage, userId: string, fileField = "file"): Promise<UploadForm> {
  if (!/^multipart\/form-data/i.test(req.headers["content-type"] ?? "")) {
    throw badRequest(`send the archive as multipart/form-data with the file in the field "${fileField}"`, "NOT_MULTIPART");
  }
  const max = services.config.maxUploadBytes;
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > max + MULTIPART_OVERHEAD) throw new UploadTooLargeError(`upload of ${declared} bytes exceeds the limit of ${max} bytes`, max);

  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      defParamCharset: "utf8",
      // a file of exactly the limit must not read as truncated: the engine refuses anything past it itself
      limits: { fileSize: max + 1, files: 4, fields: 50, fieldSize: 1024 ** 2, parts: 64 },
    });
  } catch (e) {
    throw badRequest(`not a readable multipart body: ${(e as Error).message}`, "BAD_MULTIPART");
  }

  return new Promise<UploadForm>((resolve, reject) => {
    const fields = new Map<string, string>();
    let staging: Promise<ResolvedUpload> | null = null;
    let problem: Error | null = null;
    let settled = false;
    const limit = new ByteLimit(max + MULTIPART_OVERHEAD, max);

    bb.on("field", (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) problem ??= badRequest(`the form field "${name}" is too long`, "BAD_MULTIPART");
      else if (!fields.has(name)) fields.set(name, value);
    });
    bb.on("file", (name, stream, info) => {
      // a failure reaches us through staging or busboy; a file stream failing after its reader let go must not crash the process
      stream.on("error", () => {});
      if (name !== fileField || staging) {
        if (name === fileField) problem ??= badRequest(`send one file in "${fileField}"`, "BAD_MULTIPART");
        stream.resume(); // not ours: read past it
        return;
      }
      staging = resolveUpload(services, userId, { file: { filename: info.filename ?? "upload", stream } });
      staging.catch(() => {}); // awaited in finish()
    });
    for (const event of ["partsLimit", "filesLimit", "fieldsLimit"] as const) {
      bb.on(event, () => {
        problem ??= badRequest(`the form has too many parts (${event})`, "BAD_MULTIPART");
      });
    }
    bb.on("error", (err: Error) => void finish(err instanceof UploadTooLargeError ? err : badRequest(`not a readable multipart body: ${err.message}`, "BAD_MULTIPART")));
    bb.on("close", () => void finish(null));
    limit.on("error", (err: Error) => {
      // stop reading: the file stream fails with the same error, and the answer closes the connection
      req.unpipe(limit);
      bb.destroy(err);
    });
    req.on("close", () => {
      if (!req.complete && !settled) bb.destroy(badRequest("the request was cut short", "BAD_MULTIPART"));
    });
    req.pipe(limit).pipe(bb);

    async function finish(err: Error | null) {
      if (settled) return;
      settled = true;
      let upload: ResolvedUpload | null = null;
      let stageError: unknown = null;
      if (staging) {
        try {
          upload = await staging;
        } catch (e) {
          stageError = e;
        }
      }
      // a refused size is what the client must hear, whatever else went wrong
      const failure =
        (stageError instanceof UploadTooLargeError ? stageError : null) ??
        (err instanceof UploadTooLargeError ? err : null) ??
        err ??
        stageError ??
        problem ??
        (upload ? null : badRequest(`no file: send the archive in the form field "${fileField}"`, "NO_FILE"));
      if (failure) {
        await upload?.release().catch(() => {});
        reject(failure);
      } else resolve({ fields, upload: upload! });
    }
  });
}

// ---------------------------------------------------------------- import options

const RESOLUTIONS = ["SKIP", "OVERWRITE", "CREATE_NEW", "MERGE", "RENAME", "SKIP_RECORD", "CREATE_PLACEHOLDER", "FAIL"] as const;

const resolutionsSchema = z
  .array(
    z.object({
      conflictId: z.string().min(1).nullish(),
      kind: z.string().min(1).nullish(),
      resolution: z.preprocess((v) => (typeof v === "string" ? v.toUpperCase().replace(/-/g, "_") : v), z.enum(RESOLUTIONS)),
    }),
  )
  .max(100_000);

// FOVEA's `options` form field (its import options schema): the parts stowage can honour
const foveaOptionsSchema = z.looseObject({
  conflictResolution: z
    .looseObject({
      personas: z.enum(["skip", "replace", "merge", "rename"]).optional(),
      worldObjects: z.enum(["skip", "replace", "merge-assignments"]).optional(),
      missingDependencies: z.enum(["skip-item", "create-placeholder", "fail-import"]).optional(),
      duplicateIds: z.enum(["preserve-id", "regenerate-id", "skip", "overwrite", "replace"]).optional(),
    })
    .optional(),
  validation: z.looseObject({ strictMode: z.boolean().optional() }).optional(),
});

const WORLD_KINDS: KindName[] = ["worldEntity", "worldLocation", "worldEvent", "worldTime", "worldCollection", "worldRelation"];

function foveaResolutions(o: z.infer<typeof foveaOptionsSchema>): ResolutionInput[] {
  const out: ResolutionInput[] = [];
  const cr = o.conflictResolution ?? {};
  const persona = { skip: "SKIP", replace: "OVERWRITE", merge: "MERGE", rename: "RENAME" } as const;
  if (cr.personas) out.push({ kind: "persona", resolution: persona[cr.personas] });
  if (cr.worldObjects === "replace") for (const kind of WORLD_KINDS) out.push({ kind, resolution: "OVERWRITE" });
  if (cr.worldObjects === "skip") for (const kind of WORLD_KINDS) out.push({ kind, resolution: "SKIP" });
  if (cr.duplicateIds === "regenerate-id") for (const kind of KIND_NAMES) out.push({ kind, resolution: "CREATE_NEW" });
  if (cr.missingDependencies) {
    const r = ({ "skip-item": "SKIP_RECORD", "create-placeholder": "CREATE_PLACEHOLDER", "fail-import": "FAIL" } as const)[cr.missingDependencies];
    for (const kind of KIND_NAMES) out.push({ kind, resolution: r });
  }
  return out;
}

function parseJsonField(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`${name} is not valid JSON: ${(e as Error).message}`, "BAD_REQUEST", { field: name });
  }
}

/**
 * Import options from a form and the query string: `mode` (skip|overwrite),
 * `strict` (true|false), `resolutions` (JSON: [{conflictId|kind, resolution}])
 * and FOVEA's `options` JSON. A form field wins over the query parameter of the
 * same name; explicit `mode`/`strict` win over what `options` implies.
 */
export function parseImportOptions(fields: Map<string, string>, query: URLSearchParams): ImportOptions {
  const get = (name: string) => {
    const f = fields.get(name);
    if (f != null && f.trim() !== "") return f;
    const q = query.get(name);
    return q != null && q.trim() !== "" ? q : undefined;
  };
  let mode: ImportOptions["mode"] | undefined;
  let strict: boolean | undefined;
  const resolutions: ResolutionInput[] = [];

  const optionsText = get("options");
  if (optionsText !== undefined) {
    const parsed = foveaOptionsSchema.safeParse(parseJsonField(optionsText, "options"));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(`options.${issue.path.join(".")}: ${issue.message}`, "BAD_REQUEST", { field: "options" });
    }
    const dup = parsed.data.conflictResolution?.duplicateIds;
    if (dup === "overwrite" || dup === "replace") mode = "OVERWRITE";
    if (dup === "skip" || dup === "preserve-id") mode = "SKIP";
    strict = parsed.data.validation?.strictMode;
    resolutions.push(...foveaResolutions(parsed.data));
  }

  const modeText = get("mode");
  if (modeText !== undefined) {
    const m = modeText.trim().toUpperCase();
    if (m !== "SKIP" && m !== "OVERWRITE") throw badRequest(`mode must be skip or overwrite, got ${JSON.stringify(modeText)}`, "INVALID_MODE", { field: "mode" });
    mode = m;
  }
  strict = parseBool(get("strict"), "strict") ?? strict;

  const resolutionsText = get("resolutions");
  if (resolutionsText !== undefined) {
    const parsed = resolutionsSchema.safeParse(parseJsonField(resolutionsText, "resolutions"));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(`resolutions.${issue.path.join(".")}: ${issue.message}`, "BAD_REQUEST", { field: "resolutions" });
    }
    // explicit choices first: the first matching resolution is the one that counts
    const explicit = parsed.data.map((r, i) => {
      if (!r.conflictId && !r.kind) throw badRequest(`resolutions[${i}]: name a conflictId or a kind`, "BAD_REQUEST", { field: "resolutions" });
      // FOVEA's line types (entity, summary, claim_relation...) name our kinds too
      const kind = r.kind ? canonicalType(r.kind) : null;
      if (kind && !kindDef(kind)) throw badRequest(`resolutions[${i}].kind: unknown record kind "${r.kind}"`, "BAD_REQUEST", { field: "resolutions" });
      return { conflictId: r.conflictId ?? null, kind, resolution: r.resolution as Resolution };
    });
    resolutions.unshift(...explicit);
  }
  return { mode: mode ?? "SKIP", strict: strict ?? true, resolutions };
}

// ---------------------------------------------------------------- users

/**
 * The user a request names (by our id, email, or OpenMemory's external id),
 * or the viewer when it names none. A non-admin may name only themselves: any
 * other name is 403, whether or not such a user exists (nothing is disclosed);
 * an admin naming nobody known gets 404.
 */
export async function namedUser(db: Db, viewer: Viewer, named: string | null | undefined): Promise<{ id: string; email: string }> {
  const name = named?.trim();
  if (!name || name === viewer.id || name.toLowerCase() === viewer.email) return { id: viewer.id, email: viewer.email };
  const select = { id: true, email: true } as const;
  const user =
    (await db.user.findUnique({ where: { id: name }, select })) ??
    (await db.user.findUnique({ where: { email: name.toLowerCase() }, select })) ??
    (await db.user.findFirst({ where: { externalId: name }, select, orderBy: { createdAt: "asc" } }));
  if (user?.id === viewer.id) return user;
  if (viewer.role !== "ADMIN") throw new ForbiddenError(`you can only name your own account (${viewer.email}); only admins can name another user`);
  if (!user) throw new NotFoundError(`no user ${name}`);
  return user;
}
