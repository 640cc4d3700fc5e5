import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Config } from "../config.js";
import type { Services } from "../services.js";
import { BlobNotFoundError, type BlobStore } from "../storage/blob-store.js";
import { signDownload, verifyDownload } from "./download-token.js";

// GET|HEAD /downloads/:token — streams a finished export archive.
//
// Every refusal (malformed, forged or tampered token, expired token, unknown
// job, a job of another user, a job not SUCCEEDED, a job past its expiresAt, a
// missing blob) answers the same 404 with the same body and headers. We do not
// answer 410 for expired links: the token's expiry could be told apart without
// revealing anything, but a job past its own `expiresAt` can only be told apart
// by looking the job up, and a distinct status there would confirm to whoever
// holds a token (e.g. a leaked, old link) that the job exists and belonged to
// that user. One answer for all cases is the simple way to reveal nothing; the
// client learns the reason from the GraphQL `exportJob` (status, expiresAt).
//
// Multiple ranges (`bytes=0-1,5-6`) are answered with the full 200: a server
// may ignore a Range header (RFC 9110 §14.2), and download managers and
// browsers resume with a single range.

const NOT_FOUND_BODY = JSON.stringify({ error: "not_found" });

function sendNotFound(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(NOT_FOUND_BODY),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(req.method === "HEAD" ? undefined : NOT_FOUND_BODY);
}

export type RangeRequest = { kind: "none" } | { kind: "unsatisfiable" } | { kind: "range"; start: number; end: number };

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110
 * §14.1.2). `end` is inclusive. Anything this server does not honour
 * (other units, syntax errors, several ranges) is `none`: the full response.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: "none" };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: "none" };
  const spec = m[1].trim();
  if (spec.includes(",")) return { kind: "none" };
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!r || (r[1] === "" && r[2] === "")) return { kind: "none" };
  if (r[1] === "") {
    // suffix: the last n bytes
    const n = Number(r[2]);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const last = r[2] === "" ? Infinity : Number(r[2]);
  if (!Number.isSafeInteger(start) || last < start) return { kind: "none" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", start, end: Math.min(last, size - 1) };
}

function etagMatches(header: string, etag: string): boolean {
  // weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v.replace(/^W\//, "") === bare;
  });
}

/** If-Range (RFC 9110 §13.1.5): a strong ETag match or the exact Last-Modified date; anything else means "send it all". */
function ifRangeMatches(header: string, etag: string, lastModified: Date): boolean {
  const v = header.trim();
  if (v.startsWith('"')) return v === etag;
  if (v.startsWith("W/")) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && Math.floor(t / 1000) === Math.floor(lastModified.getTime() / 1000);
}

// RFC 6266 / RFC 5987 ---------------------------------------------------------

// control characters (C0, DEL, C1) and the bidi overrides/isolates/marks that
// can make "gpj.exe" look like "exe.jpg"
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** The intended name with what no file name should carry removed: control chars, CR/LF, slashes, backslashes. */
export function sanitizeFilename(name: string, fallback = "download"): string {
  let s = name.normalize("NFC").replace(UNSAFE_CHARS, "_").replace(/[/\\]/g, "_").trim();
  s = s.replace(/^\.+/, ""); // no hidden files, no "..": it is a name, not a path
  if ([...s].length > 200) s = [...s].slice(0, 200).join("");
  return s || fallback;
}

/** ASCII fallback for the quoted `filename=`: accents stripped, other non-ASCII and `"` `\` `%` replaced. */
export function asciiFilename(name: string, fallback = "download"): string {
  const s = sanitizeFilename(name, fallback)
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[^\x20-\x7e]/g, "_")
    .replace(/["\\%]/g, "_")
    .trim();
  return s || fallback;
}

/** RFC 5987 `value-chars`: UTF-8, percent-encoding everything outside attr-char. */
function rfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 §4.3:
 * recipients that understand filename* prefer it, older ones use the fallback).
 * Quotes survive in filename* (percent-encoded, harmless there); the fallback has none.
 */
export function contentDisposition(name: string, fallback = "download"): string {
  const clean = sanitizeFilename(name, fallback);
  return `attachment; filename="${asciiFilename(clean, fallback)}"; filename*=UTF-8''${rfc5987(clean)}`;
}

function contentTypeOf(format: string, name: string): string {
  if (format === "ZIP" || format === "OPENMEMORY") return "application/zip";
  if (/\.gz$/i.test(name)) return "application/gzip";
  if (/\.zip$/i.test(name)) return "application/zip";
  if (format === "JSONL" || format === "FOVEA" || /\.(jsonl|ndjson)$/i.test(name)) return "application/x-ndjson";
  return "application/octet-stream";
}

function defaultFilename(job: { id: string; storageKey: string | null }): string {
  const base = job.storageKey?.split("/").pop() ?? "";
  const ext = /\.[A-Za-z0-9.]+$/.exec(base)?.[0] ?? "";
  return `stowage-export-${job.id}${ext}`;
}

// ---------------------------------------------------------------------------

export async function handleDownload(
  services: Services,
  store: BlobStore,
  secret: Buffer,
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  now: Date = new Date(),
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    const body = JSON.stringify({ error: "method_not_allowed" });
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }

  const verified = verifyDownload(secret, token, now);
  if (!verified.ok) return sendNotFound(req, res);
  const { jobId, userId } = verified.payload;

  const job = await services.db.exportJob.findUnique({ where: { id: jobId } });
  if (
    !job ||
    job.status !== "SUCCEEDED" ||
    (job.requestedById !== userId && job.ownerId !== userId) ||
    !job.expiresAt ||
    job.expiresAt.getTime() <= now.getTime() ||
    !job.storageKey
  ) {
    return sendNotFound(req, res);
  }

  const info = await store.stat(job.storageKey);
  if (!info) return sendNotFound(req, res);
  if (job.byteSize != null && Number(job.byteSize) !== info.bytes) {
    // the blob is not what the job recorded (its ETag would lie): refuse rather than serve it
    services.logger.error({ jobId, storageKey: job.storageKey, recorded: Number(job.byteSize), actual: info.bytes }, "export blob size differs from its job");
    return sendNotFound(req, res);
  }

  const size = info.bytes;
  const etag = job.sha256 ? `"${job.sha256}"` : `"${size.toString(16)}-${info.modifiedAt.getTime().toString(16)}"`;
  const lastModified = job.finishedAt ?? info.modifiedAt;
  const name = job.filename ?? defaultFilename(job);
  const common: OutgoingHttpHeaders = {
    etag,
    "last-modified": lastModified.toUTCString(),
    "cache-control": "private, no-store",
    "accept-ranges": "bytes",
  };

  const ifNoneMatch = req.headers["if-none-match"];
  const ifModifiedSince = req.headers["if-modified-since"];
  if (
    ifNoneMatch
      ? etagMatches(ifNoneMatch, etag)
      : ifModifiedSince && Math.floor(lastModified.getTime() / 1000) <= Math.floor(Date.parse(ifModifiedSince) / 1000)
  ) {
    res.writeHead(304, common);
    res.end();
    return;
  }

  const ifRange = req.headers["if-range"] as string | undefined;
  const range = ifRange && !ifRangeMatches(ifRange, etag, lastModified) ? ({ kind: "none" } as const) : parseRange(req.headers.range, size);
  if (range.kind === "unsatisfiable") {
    const body = JSON.stringify({ error: "range_not_satisfiable" });
    res.writeHead(416, {
      ...common,
      "content-range": `bytes */${size}`,
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return;
  }

  const [status, start, end] = range.kind === "range" ? [206, range.start, range.end] : [200, 0, size - 1];
  const headers: OutgoingHttpHeaders = {
    ...common,
    "content-type": contentTypeOf(job.format, name),
    "content-length": size === 0 ? 0 : end - start + 1,
    "content-disposition": contentDisposition(name, defaultFilename(job)),
    "x-content-type-options": "nosniff",
    ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
  };

  if (req.method === "HEAD" || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }

  // open before answering: a blob deleted since stat() still gets a clean 404
  let body;
  try {
    body = await store.read(job.storageKey, { start, end });
  } catch (err) {
    if (err instanceof BlobNotFoundError) return sendNotFound(req, res);
    throw err;
  }
  res.writeHead(status, headers);
  try {
    await pipeline(body, res);
  } catch (err) {
    // the client went away (ERR_STREAM_PREMATURE_CLOSE) or the read failed; headers are out, nothing to answer
    if ((err as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") {
      services.logger.warn({ err, jobId }, "download stream failed");
    }
  }
}

/** `/downloads/<token>` → the token, else null. */
export function downloadTokenFromPath(pathname: string): string | null {
  const m = /^\/downloads\/([^/]*)$/.exec(pathname);
  return m ? m[1] : null;
}

/**
 * Absolute URL of a download link. The base is `config.publicUrl` when set
 * (it may carry a path prefix), else the origin the request came in on
 * (`requestUrl`, e.g. yoga's `request.url`).
 */
export function downloadUrl(config: Pick<Config, "publicUrl">, token: string, requestUrl?: string | URL): string {
  const base = config.publicUrl ?? (requestUrl ? new URL(requestUrl).origin : undefined);
  if (!base) throw new Error("downloadUrl needs PUBLIC_URL or the request's URL");
  return `${base.replace(/\/+$/, "")}/downloads/${encodeURIComponent(token)}`;
}

/**
 * A download token for `userId` on a finished job, valid for
 * `config.downloadTtlSeconds` but never beyond the job's own `expiresAt`.
 * Returns null when the job cannot be downloaded any more.
 */
export function downloadTokenForJob(
  secret: Buffer,
  config: Pick<Config, "downloadTtlSeconds">,
  job: { id: string; expiresAt: Date | null },
  userId: string,
  now: Date = new Date(),
): { token: string; expiresAt: Date } | null {
  const nowS = Math.floor(now.getTime() / 1000);
  const jobEnd = job.expiresAt ? Math.floor(job.expiresAt.getTime() / 1000) : Infinity;
  const ttlSeconds = Math.min(config.downloadTtlSeconds, jobEnd - nowS);
  if (!(ttlSeconds > 0)) return null;
  return { token: signDownload(secret, { jobId: job.id, userId, ttlSeconds, now }), expiresAt: new Date((nowS + ttlSeconds) * 1000) };
}
