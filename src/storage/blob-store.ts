import { createHash, randomBytes, type Hash } from "node:crypto";
import { mkdir, open, readdir, rename, stat as fsStat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Config } from "../config.js";

// Blobs are archives (export results) and staged uploads. The interface is kept
// to what an S3-compatible store can do too (PUT via multipart upload, ranged
// GET, HEAD, DELETE), so it can replace the filesystem later (DESIGN.md, "Scale
// path"). Nothing here knows about jobs or users.

export interface BlobInfo {
  bytes: number;
  modifiedAt: Date;
}

export interface PutResult {
  bytes: number;
  /** lowercase hex */
  sha256: string;
}

/**
 * A blob being written by a producer that pushes (an archive writer): write or
 * pipe into it, then `commit()` to publish it under its key, or `abort()`.
 * Until `commit()` resolves nothing is visible under the key; a crash leaves at
 * most an incomplete temporary file that `sweepIncomplete` removes later.
 */
export interface BlobWriter extends Writable {
  readonly key: string;
  /** Ends the stream if still open, makes the bytes durable and publishes them atomically. */
  commit(): Promise<PutResult>;
  /**
   * Discards what this writer wrote; safe to call more than once and after a failed commit.
   * Before commit the key keeps whatever it held before. After a successful commit it
   * deletes the published blob, so `try { commit(); record it } catch { abort() }` leaves
   * no orphan when the recording fails.
   */
  abort(): Promise<void>;
}

export interface BlobReadRange {
  /** first byte, inclusive (default 0) */
  start?: number;
  /** last byte, INCLUSIVE (as in HTTP ranges and fs.createReadStream); default: end of blob */
  end?: number;
}

export interface BlobStore {
  /** Streams `source` into the blob `key` (replacing it atomically if it exists). */
  put(key: string, source: AsyncIterable<Uint8Array> | Readable): Promise<PutResult>;
  openWriter(key: string): Promise<BlobWriter>;
  /** null when there is no blob under the key */
  stat(key: string): Promise<BlobInfo | null>;
  exists(key: string): Promise<boolean>;
  /** Opens the blob for reading; rejects with BlobNotFoundError when it is missing. */
  read(key: string, range?: BlobReadRange): Promise<Readable>;
  /** true when a blob was removed, false when there was none */
  delete(key: string): Promise<boolean>;
  /** Removes leftovers of writers that never committed (crash), untouched since `before`. Returns how many. */
  sweepIncomplete?(before: Date): Promise<number>;
}

export class InvalidBlobKeyError extends Error {
  readonly code = "INVALID_BLOB_KEY";
  constructor(key: string, reason: string) {
    super(`invalid blob key ${JSON.stringify(key.slice(0, 100))}: ${reason}`);
  }
}

export class BlobNotFoundError extends Error {
  readonly code = "BLOB_NOT_FOUND";
  constructor(readonly key: string) {
    super(`no blob under key ${key}`);
  }
}

const KEY_MAX = 512;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * Keys are relative paths of segments over `[A-Za-z0-9_.-]`, separated by
 * single `/`. A segment may not start with `.`: that rules out `.` and `..`
 * and keeps keys from ever naming this store's temporary files (`.*.tmp`).
 */
export function validateBlobKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) throw new InvalidBlobKeyError(String(key), "empty");
  if (key.length > KEY_MAX) throw new InvalidBlobKeyError(key, `longer than ${KEY_MAX} characters`);
  for (const segment of key.split("/")) {
    if (!segment) throw new InvalidBlobKeyError(key, "empty path segment (leading, trailing or double slash)");
    if (!SEGMENT.test(segment)) throw new InvalidBlobKeyError(key, "segments use [A-Za-z0-9_.-] and may not start with '.'");
  }
  return key;
}

const TEMP_SUFFIX = ".tmp";
const isTempName = (name: string) => name.startsWith(".") && name.endsWith(TEMP_SUFFIX);

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

/** fsync a directory so a rename in it survives a power loss; not every platform allows it. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // best effort (EISDIR/EPERM on some platforms)
  } finally {
    await fh?.close().catch(() => {});
  }
}

class FsBlobWriter extends Writable implements BlobWriter {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;
  private state: "open" | "committing" | "committed" | "aborted" = "open";
  private handleClosed = false;
  private commitPromise?: Promise<PutResult>;

  constructor(
    readonly key: string,
    private readonly finalPath: string,
    private readonly tempPath: string,
    private readonly fh: FileHandle,
  ) {
    // 64 KiB buffering before backpressure, like fs write streams
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  private async writeAll(chunks: Buffer[]): Promise<void> {
    if (this.state === "aborted") throw new Error(`blob writer for ${this.key} was aborted`);
    for (const c of chunks) this.hash.update(c);
    const expected = chunks.reduce((n, c) => n + c.length, 0);
    let { bytesWritten: skip } = await this.fh.writev(chunks);
    if (skip !== expected) {
      // a short write (rare on regular files): finish chunk by chunk
      for (const c of chunks) {
        let off = Math.min(skip, c.length);
        skip -= off;
        while (off < c.length) off += (await this.fh.write(c, off)).bytesWritten;
      }
    }
    this.bytes += expected;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // destroyed before finishing (an error, pipeline teardown): it never publishes, drop
    // the temporary file. After a clean finish autoDestroy lands here too: keep it for commit().
    if (this.state === "open" && (err || !this.writableFinished)) {
      this.state = "aborted";
      this.cleanup().then(() => cb(err), () => cb(err));
    } else cb(err);
  }

  private async closeHandle(): Promise<void> {
    if (this.handleClosed) return;
    this.handleClosed = true;
    await this.fh.close();
  }

  private cleaning?: Promise<void>;

  /** Closes and removes the temporary file; memoized so every caller can await the same work. */
  private cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      await this.closeHandle().catch(() => {});
      await unlink(this.tempPath).catch(() => {});
    })();
    return this.cleaning;
  }

  commit(): Promise<PutResult> {
    this.commitPromise ??= this.doCommit();
    return this.commitPromise;
  }

  private async doCommit(): Promise<PutResult> {
    if (this.errored || this.state !== "open") {
      // a failed write or a teardown destroyed the stream: wait until its temp file is gone, report why
      await this.cleaning;
      throw this.errored ?? new Error(`blob writer for ${this.key} was ${this.state}`);
    }
    this.state = "committing";
    try {
      if (this.destroyed && !this.writableFinished) throw new Error(`blob writer for ${this.key} was destroyed`);
      await new Promise<void>((resolveEnd, reject) => {
        const onError = (err: Error) => reject(err);
        this.once("error", onError);
        const done = () => {
          this.off("error", onError);
          resolveEnd();
        };
        if (this.writableFinished) done();
        else if (this.writableEnded) this.once("finish", done);
        else this.end((err?: Error | null) => (err ? onError(err) : done()));
      });
      await this.fh.sync();
      await this.closeHandle();
      await rename(this.tempPath, this.finalPath);
      await syncDir(dirname(this.finalPath));
      this.state = "committed";
      return { bytes: this.bytes, sha256: this.hash.digest("hex") };
    } catch (err) {
      this.state = "aborted";
      if (!this.destroyed) this.destroy();
      await this.cleanup();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.state === "committing") await this.commitPromise?.catch(() => {});
    if (this.state === "committed") {
      // published already: take it back (unless a later writer has replaced it meanwhile, which
      // cannot be told apart here; keys are meant to be written once)
      this.state = "aborted";
      this.commitPromise = undefined; // a later commit() now fails instead of reporting a deleted blob
      await unlink(this.finalPath).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      return;
    }
    if (this.state === "aborted") return this.cleaning;
    this.state = "aborted";
    // destroy first: a write still in flight then fails silently instead of emitting 'error'
    if (!this.destroyed) this.destroy();
    await this.cleanup();
  }
}

/** BlobStore on a local directory: `<root>/<key>`, written via temp file + fsync + rename. */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path of a key (validated, and checked to stay under the root). */
  pathOf(key: string): string {
    validateBlobKey(key);
    const path = resolve(this.root, ...key.split("/"));
    if (!path.startsWith(this.root + sep)) throw new InvalidBlobKeyError(key, "escapes the store");
    return path;
  }

  async openWriter(key: string): Promise<BlobWriter> {
    const finalPath = this.pathOf(key);
    const dir = dirname(finalPath);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tempPath = join(dir, `.${finalPath.slice(dir.length + 1)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
    const fh = await open(tempPath, "wx", 0o600);
    return new FsBlobWriter(key, finalPath, tempPath, fh);
  }

  async put(key: string, source: AsyncIterable<Uint8Array> | Readable): Promise<PutResult> {
    const writer = await this.openWriter(key);
    try {
      await pipeline(source, writer);
      return await writer.commit();
    } catch (err) {
      await writer.abort().catch(() => {});
      throw err;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const st = await fsStat(this.pathOf(key));
      if (!st.isFile()) return null;
      return { bytes: st.size, modifiedAt: st.mtime };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async read(key: string, range: BlobReadRange = {}): Promise<Readable> {
    const path = this.pathOf(key);
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      throw err;
    }
    // the open handle keeps the bytes readable even if the blob is deleted meanwhile
    return fh.createReadStream({ start: range.start, end: range.end, highWaterMark: 64 * 1024, autoClose: true });
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(key));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async sweepIncomplete(before: Date): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile() && isTempName(e.name)) {
          // mtime moves with every write: an active writer is never "stale"
          const st = await fsStat(path).catch(() => null);
          if (st && st.mtime < before && (await unlink(path).then(() => true, () => false))) removed++;
        }
      }
    };
    await walk(this.root);
    return removed;
  }
}

/** The process's blob store: the filesystem under `<dataDir>/blobs/`. */
export function createBlobStore(config: Pick<Config, "dataDir">): BlobStore {
  return new FsBlobStore(join(config.dataDir, "blobs"));
}
