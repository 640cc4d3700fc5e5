import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadDownloadSecret } from "../src/http/download-token.js";
import { BlobNotFoundError, createBlobStore, FsBlobStore, InvalidBlobKeyError, validateBlobKey } from "../src/storage/blob-store.js";

let dir: string;
let store: FsBlobStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "stowage-blobs-"));
  store = createBlobStore({ dataDir: dir }) as FsBlobStore;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function chunks(data: Buffer, size = 7919): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

async function* failingSource(data: Buffer, failAfter: number) {
  let sent = 0;
  for (const c of chunks(data)) {
    if (sent >= failAfter) throw new Error("source broke");
    sent += c.length;
    yield c;
  }
}

/** every file under the store's root, relative */
function filesUnder(root: string): string[] {
  try {
    return (readdirSync(root, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(root.length + 1))
      .sort();
  } catch {
    return [];
  }
}

describe("FsBlobStore", () => {
  it("puts a stream under <dataDir>/blobs/<key> with the right byte count and sha256, and reads it back", async () => {
    const data = randomBytes(300 * 1024 + 17);
    const res = await store.put("exports/job-1.zip", Readable.from(chunks(data)));
    expect(res).toEqual({ bytes: data.length, sha256: sha(data) });
    expect(readFileSync(join(dir, "blobs", "exports", "job-1.zip")).equals(data)).toBe(true);
    expect(await store.exists("exports/job-1.zip")).toBe(true);
    const st = await store.stat("exports/job-1.zip");
    expect(st?.bytes).toBe(data.length);
    expect(st?.modifiedAt).toBeInstanceOf(Date);
    expect((await buffer(await store.read("exports/job-1.zip"))).equals(data)).toBe(true);
    expect(filesUnder(store.root)).toEqual(["exports/job-1.zip"]);
  });

  it("accepts an async iterable and an empty source", async () => {
    const data = randomBytes(1000);
    async function* gen() {
      yield data.subarray(0, 10);
      yield new Uint8Array(data.subarray(10));
    }
    expect(await store.put("a", gen())).toEqual({ bytes: 1000, sha256: sha(data) });
    expect(await store.put("empty", Readable.from([]))).toEqual({ bytes: 0, sha256: sha(Buffer.alloc(0)) });
    expect((await store.stat("empty"))?.bytes).toBe(0);
  });

  it("reads inclusive byte ranges", async () => {
    const data = randomBytes(5000);
    await store.put("r/x.bin", Readable.from([data]));
    expect((await buffer(await store.read("r/x.bin", { start: 0, end: 0 }))).equals(data.subarray(0, 1))).toBe(true);
    expect((await buffer(await store.read("r/x.bin", { start: 100, end: 199 }))).equals(data.subarray(100, 200))).toBe(true);
    expect((await buffer(await store.read("r/x.bin", { start: 4990 }))).equals(data.subarray(4990))).toBe(true);
  });

  it("a failing source leaves nothing under a new key and no temporary file", async () => {
    const data = randomBytes(200 * 1024);
    await expect(store.put("exports/broken.zip", failingSource(data, 100 * 1024))).rejects.toThrow("source broke");
    expect(await store.exists("exports/broken.zip")).toBe(false);
    expect(await store.stat("exports/broken.zip")).toBeNull();
    expect(filesUnder(store.root)).toEqual([]);
  });

  it("a failing source leaves the previous blob under an existing key intact", async () => {
    const before = randomBytes(4096);
    await store.put("k.bin", Readable.from([before]));
    await expect(store.put("k.bin", failingSource(randomBytes(100 * 1024), 50 * 1024))).rejects.toThrow("source broke");
    expect(readFileSync(join(store.root, "k.bin")).equals(before)).toBe(true);
    expect(filesUnder(store.root)).toEqual(["k.bin"]);
  });

  it("a successful put replaces an existing blob", async () => {
    await store.put("k.bin", Readable.from([Buffer.from("old")]));
    await store.put("k.bin", Readable.from([Buffer.from("new!")]));
    expect(readFileSync(join(store.root, "k.bin"), "utf8")).toBe("new!");
  });

  it("openWriter: invisible until commit, then published with bytes and sha256", async () => {
    const data = randomBytes(128 * 1024 + 3);
    const w = await store.openWriter("exports/pushed.zip");
    for (const c of chunks(data, 10_000)) {
      if (!w.write(c)) await new Promise((r) => w.once("drain", r));
    }
    expect(await store.exists("exports/pushed.zip")).toBe(false);
    const res = await w.commit();
    expect(res).toEqual({ bytes: data.length, sha256: sha(data) });
    expect(readFileSync(join(store.root, "exports/pushed.zip")).equals(data)).toBe(true);
    expect(await w.commit()).toEqual(res); // idempotent
    expect(filesUnder(store.root)).toEqual(["exports/pushed.zip"]);
  });

  it("openWriter: abort after commit takes the published blob back (the caller's bookkeeping failed)", async () => {
    const w = await store.openWriter("exports/unrecorded.zip");
    w.end(Buffer.from("data"));
    await w.commit();
    expect(await store.exists("exports/unrecorded.zip")).toBe(true);
    await w.abort();
    await w.abort();
    await expect(w.commit()).rejects.toThrow(/aborted/);
    expect(await store.exists("exports/unrecorded.zip")).toBe(false);
    expect(filesUnder(store.root)).toEqual([]);
  });

  it("openWriter works as a pipeline destination, then commit", async () => {
    const data = randomBytes(70_000);
    const w = await store.openWriter("p.bin");
    await pipeline(Readable.from(chunks(data)), w);
    expect(await w.commit()).toEqual({ bytes: data.length, sha256: sha(data) });
  });

  it("openWriter: abort discards everything and commit then fails", async () => {
    const w = await store.openWriter("exports/aborted.zip");
    w.write(randomBytes(50_000));
    await w.abort();
    await w.abort(); // twice is fine
    await expect(w.commit()).rejects.toThrow();
    expect(await store.exists("exports/aborted.zip")).toBe(false);
    expect(filesUnder(store.root)).toEqual([]);
  });

  it("openWriter destroyed by a failing pipeline leaves nothing behind", async () => {
    const w = await store.openWriter("exports/failed.zip");
    await expect(pipeline(failingSource(randomBytes(100_000), 30_000), w)).rejects.toThrow("source broke");
    await expect(w.commit()).rejects.toThrow();
    expect(filesUnder(store.root)).toEqual([]);
  });

  it("validates keys everywhere", async () => {
    const bad = ["", "../x", "a/../b", "/abs", "a//b", "a/", ".hidden", "a/.b", "..", ".", "a b", "é.zip", "a\\b", "a:b", "x".repeat(513), "a/./b"];
    for (const key of bad) {
      expect(() => validateBlobKey(key), key).toThrow(InvalidBlobKeyError);
      await expect(store.put(key, Readable.from([Buffer.from("x")])), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.openWriter(key), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.stat(key), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.read(key), key).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.delete(key), key).rejects.toThrow(InvalidBlobKeyError);
    }
    for (const key of ["exports/0b7c-4e1a_x.zip", "a", "a/b/c.d.e", "uploads/2024/x-y_z.jsonl.gz", "A-Z_0.9"]) {
      expect(validateBlobKey(key)).toBe(key);
    }
    expect(filesUnder(dir)).toEqual([]);
  });

  it("missing blobs: stat null, exists false, read rejects with BlobNotFoundError, delete false", async () => {
    expect(await store.stat("nope")).toBeNull();
    expect(await store.exists("nope")).toBe(false);
    await expect(store.read("nope")).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.delete("nope")).toBe(false);
    await store.put("yes", Readable.from([Buffer.from("1")]));
    expect(await store.delete("yes")).toBe(true);
    expect(await store.exists("yes")).toBe(false);
  });

  it("sweepIncomplete removes stale temporary files of writers that never committed, and only those", async () => {
    await store.put("kept.bin", Readable.from([Buffer.from("kept")]));
    const w = await store.openWriter("exports/crashed.zip");
    await new Promise<void>((r) => w.write(randomBytes(1000), () => r()));
    expect(filesUnder(store.root).length).toBe(2);
    expect(await store.sweepIncomplete(new Date(Date.now() - 3600_000))).toBe(0); // fresh: still being written
    expect(await store.sweepIncomplete(new Date(Date.now() + 60_000))).toBe(1);
    expect(filesUnder(store.root)).toEqual(["kept.bin"]);
    await expect(w.commit()).rejects.toThrow(); // its file is gone: it cannot publish
    expect(await store.exists("exports/crashed.zip")).toBe(false);
  });
});

describe("loadDownloadSecret", () => {
  it("generates the secret once (mode 0600) and reuses it", () => {
    const a = loadDownloadSecret({ dataDir: dir });
    expect(a.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, "download-secret");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = loadDownloadSecret({ dataDir: dir });
    expect(b.equals(a)).toBe(true);
    expect(readdirSync(dir)).toEqual(["download-secret"]); // no temporary file left
    // another data dir, another secret
    const other = mkdtempSync(join(tmpdir(), "stowage-blobs-"));
    try {
      expect(loadDownloadSecret({ dataDir: other }).equals(a)).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("prefers DOWNLOAD_SECRET, and the file's text works as DOWNLOAD_SECRET (same key)", () => {
    const explicit = "s".repeat(40);
    expect(loadDownloadSecret({ dataDir: dir, downloadSecret: explicit }).toString()).toBe(explicit);
    expect(readdirSync(dir)).toEqual([]); // nothing generated when configured
    const generated = loadDownloadSecret({ dataDir: dir });
    const text = readFileSync(join(dir, "download-secret"), "utf8").trim();
    expect(loadDownloadSecret({ dataDir: dir, downloadSecret: text }).equals(generated)).toBe(true);
  });

  it("refuses a secret file too short to be a key", () => {
    writeFileSync(join(dir, "download-secret"), "short\n", { mode: 0o600 });
    expect(() => loadDownloadSecret({ dataDir: dir })).toThrow(/no usable download secret/);
  });
});
