// Staged uploads: an archive streamed into the blob store once, then read by
// preview and import (as often as needed) until it expires. No GraphQL here:
// the shells hand over a filename and a byte stream.

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, type Readable, type TransformCallback, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as zlibConstants, gunzipSync } from "node:zlib";
import unzipper from "unzipper";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { StagedUpload } from "../generated/sqlite/client.js";
import { BlobNotFoundError, FsBlobStore, type BlobStore } from "../storage/blob-store.js";
import { detectContainer, zipFormat, type DetectedFormat } from "./archive/detect.js";
import { InvalidArchiveError, NotFoundError, UploadTooLargeError, ValidationError } from "./errors.js";

export type { StagedUpload };

export interface UploadServices {
  db: Db;
  store: BlobStore;
  config: Pick<Config, "maxUploadBytes" | "stagedUploadTtlSeconds">;
}

/**
 * An uploaded file as the transport hands it over. A stream that ends with
 * `truncated === true` (busboy's, hence graphql-upload-minimal's, way of
 * saying "the size limit cut this file") counts as too large.
 */
export interface UploadSource {
  filename: string;
  stream: Readable;
}

export const UPLOAD_KEY_PREFIX = "uploads/";
export const NOT_AN_ARCHIVE = "not an archive stowage can read";

// bytes read from the stored blob to tell the format (gzip: enough to inflate a first line)
const HEAD_BYTES = 64 * 1024;
const MAX_FILENAME = 255;

/** Counts bytes and fails the stream as soon as there are more than `max` (the engine's own guard). */
class SizeGuard extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) cb(tooLarge(this.max));
    else cb(null, chunk);
  }
}

const tooLarge = (max: number) => new UploadTooLargeError(`the upload exceeds the limit of ${max} bytes`, max);

/** The stream errors of a transport that mean "too large" (graphql-upload-minimal's HttpError 413). */
function asUploadError(err: unknown, max: number): unknown {
  if (err instanceof UploadTooLargeError) return err;
  if ((err as { status?: unknown })?.status === 413) return tooLarge(max);
  return err;
}

function cleanFilename(name: string): string {
  // keep only the last path segment a client may send, without control characters
  const base = String(name ?? "").split(/[\\/]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, MAX_FILENAME);
  return clean || "upload";
}

/** A local file holding the blob: the blob itself on a filesystem store, else a temporary copy. */
async function localFile(store: BlobStore, key: string): Promise<{ path: string; dispose(): Promise<void> }> {
  if (store instanceof FsBlobStore) return { path: store.pathOf(key), dispose: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "stowage-upload-"));
  const path = join(dir, "blob");
  try {
    await pipeline(await store.read(key), createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

async function readHead(store: BlobStore, key: string, bytes: number): Promise<Buffer> {
  if (bytes === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of await store.read(key, { start: 0, end: Math.min(bytes, HEAD_BYTES) - 1 })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The archive format of a stored blob, from its bytes; InvalidArchiveError when stowage cannot read it. */
export async function detectStoredFormat(store: BlobStore, key: string, bytes: number): Promise<DetectedFormat> {
  const head = await readHead(store, key, bytes);
  switch (detectContainer(head)) {
    case "plain":
      return "JSONL";
    case "gzip": {
      // a gzip member must inflate to JSON lines; a truncated head inflates as far as it goes
      let inner: Buffer;
      try {
        inner = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch {
        throw new InvalidArchiveError(`${NOT_AN_ARCHIVE}: broken gzip data`);
      }
      if (detectContainer(inner) !== "plain") throw new InvalidArchiveError(`${NOT_AN_ARCHIVE}: the gzip file does not hold JSON lines`);
      return "JSONL";
    }
    case "zip": {
      // the central directory, not the local headers (TOOLCHAIN.md)
      const file = await localFile(store, key);
      let names: string[];
      try {
        const dir = await unzipper.Open.file(file.path);
        names = dir.files.map((f) => f.path);
      } catch {
        throw new InvalidArchiveError(`${NOT_AN_ARCHIVE}: broken ZIP file`);
      } finally {
        await file.dispose();
      }
      const format = zipFormat(names);
      if (!format) throw new InvalidArchiveError(`${NOT_AN_ARCHIVE}: a ZIP with neither manifest.json nor memories.json`);
      return format;
    }
    default:
      throw new InvalidArchiveError(NOT_AN_ARCHIVE);
  }
}

/**
 * Copies `source` through `guard` into `sink`, resolving once the sink has
 * finished. It reads instead of piping: graphql-upload-minimal calls
 * `stream.unpipe()` on its file stream when the size limit is hit, which would
 * detach a pipe and leave the copy waiting forever. A failure downstream does
 * not destroy the source, so the caller can still drain it (a destroyed busboy
 * file stream stalls the parser, and with it the request).
 */
async function copyInto(source: Readable, guard: Transform, sink: Writable): Promise<void> {
  const done = pipeline(guard, sink);
  done.catch(() => {}); // awaited below; a failure before then must not be an unhandled rejection
  try {
    for await (const chunk of source.iterator({ destroyOnReturn: false })) {
      if (!guard.write(chunk)) await Promise.race([once(guard, "drain"), done]);
    }
  } catch (err) {
    guard.destroy(err as Error);
    throw err;
  }
  guard.end();
  await done;
}

/**
 * Streams an upload into the blob store under `uploads/<id>` (never whole in
 * memory), tells its format from the stored bytes and records a StagedUpload
 * row that expires after `stagedUploadTtlSeconds`.
 *
 * Throws UploadTooLargeError when the stream was cut by the transport's size
 * limit (`truncated`) or runs past `maxUploadBytes`, the stream's own error when
 * it fails, InvalidArchiveError when the bytes are no archive stowage reads. In
 * every failure the blob is gone: a cut or unreadable file is never kept.
 */
export async function stageUpload(services: UploadServices, userId: string, source: UploadSource): Promise<StagedUpload> {
  const { db, store, config } = services;
  const max = config.maxUploadBytes;
  const id = randomUUID();
  const storageKey = `${UPLOAD_KEY_PREFIX}${id}`;
  const { stream } = source;

  const writer = await store.openWriter(storageKey);
  let put: { bytes: number; sha256: string };
  try {
    try {
      await copyInto(stream, new SizeGuard(max), writer);
    } catch (err) {
      // a stream cut and then failing reports the cut: that is what the client must hear
      throw (stream as { truncated?: boolean }).truncated ? tooLarge(max) : asUploadError(err, max);
    }
    if ((stream as { truncated?: boolean }).truncated) throw tooLarge(max);
    put = await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => {});
    // let the transport finish reading the request body (it discards the rest)
    if (!stream.destroyed) stream.resume();
    throw err;
  }

  try {
    const format = await detectStoredFormat(store, storageKey, put.bytes);
    const now = new Date();
    return await db.stagedUpload.create({
      data: {
        id,
        userId,
        filename: cleanFilename(source.filename),
        byteSize: BigInt(put.bytes),
        sha256: put.sha256,
        format,
        storageKey,
        createdAt: now,
        expiresAt: new Date(now.getTime() + config.stagedUploadTtlSeconds * 1000),
      },
    });
  } catch (err) {
    await store.delete(storageKey).catch(() => {});
    throw err;
  }
}

export interface ResolvedUpload {
  upload: StagedUpload;
  /** a local file with the upload's bytes, readable until `release()` */
  path: string;
  /** Done reading: removes a direct (unstaged) upload with its blob, and any temporary copy. Idempotent. */
  release(): Promise<void>;
}

/** The requester's own staged upload, unexpired; anything else (unknown, foreign, expired) is the same NotFoundError. */
export async function findStagedUpload(db: Db, userId: string, uploadId: string, now = new Date()): Promise<StagedUpload> {
  const upload = await db.stagedUpload.findFirst({ where: { id: uploadId, userId, expiresAt: { gt: now } } });
  if (!upload) throw new NotFoundError(`no staged upload ${uploadId}`);
  return upload;
}

/** The viewer's unexpired staged uploads, newest first. */
export function listStagedUploads(db: Db, userId: string, now = new Date()): Promise<StagedUpload[]> {
  return db.stagedUpload.findMany({ where: { userId, expiresAt: { gt: now } }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
}

/**
 * The archive an import or preview reads: exactly one of `file` (staged here
 * the same way as `stageUpload`, and deleted on `release()`) or `uploadId`
 * (the requester's own unexpired staged upload, kept on release for the next
 * preview or import). Always call `release()` when done, in a `finally`.
 */
export async function resolveUpload(
  services: UploadServices,
  userId: string,
  input: { file?: UploadSource | null; uploadId?: string | null },
): Promise<ResolvedUpload> {
  const { db, store } = services;
  const hasFile = input.file != null;
  const hasId = input.uploadId != null && input.uploadId !== "";
  if (hasFile === hasId) {
    const message = "give exactly one of `file` and `uploadId`";
    throw new ValidationError(message, [
      { path: "file", message },
      { path: "uploadId", message },
    ]);
  }

  if (hasFile) {
    const upload = await stageUpload(services, userId, input.file!);
    let file: Awaited<ReturnType<typeof localFile>>;
    try {
      file = await localFile(store, upload.storageKey);
    } catch (err) {
      await discard(services, upload);
      throw err;
    }
    let released: Promise<void> | undefined;
    return {
      upload,
      path: file.path,
      release: () =>
        (released ??= (async () => {
          await file.dispose();
          await discard(services, upload);
        })()),
    };
  }

  const upload = await findStagedUpload(db, userId, String(input.uploadId));
  // the sweeper may have taken the blob between the lookup and now
  const gone = () => new NotFoundError(`no staged upload ${upload.id}`);
  if (!(await store.exists(upload.storageKey))) throw gone();
  let file: Awaited<ReturnType<typeof localFile>>;
  try {
    file = await localFile(store, upload.storageKey);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw gone();
    throw err;
  }
  let released: Promise<void> | undefined;
  return { upload, path: file.path, release: () => (released ??= file.dispose()) };
}

/** Blob first, then the row (as the sweeper does): a failure leaves a row to retry, never an orphaned blob. */
async function discard(services: UploadServices, upload: StagedUpload): Promise<void> {
  await services.store.delete(upload.storageKey);
  await services.db.stagedUpload.deleteMany({ where: { id: upload.id } });
}
