// A BlobStore whose writers hash what they get and drop it, like /dev/null for
// the other measurements: the export's numbers do not depend on the disk. The
// hash stays, because the server's blob writer hashes every archive it stores.
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { BlobStore, BlobWriter, PutResult } from "../src/storage/blob-store.js";

class NullBlobWriter extends Writable implements BlobWriter {
  private hash = createHash("sha256");
  bytes = 0;
  constructor(readonly key: string) {
    super({ highWaterMark: 64 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb();
  }
  async commit(): Promise<PutResult> {
    if (!this.writableFinished) await new Promise<void>((resolve, reject) => this.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
  async abort(): Promise<void> {
    this.destroy();
  }
}

export function nullBlobStore(): BlobStore & { written: number } {
  const store = {
    written: 0,
    async openWriter(key: string) {
      const w = new NullBlobWriter(key);
      w.on("finish", () => (store.written += w.bytes));
      return w;
    },
    put: () => Promise.reject(new Error("not in the benchmark")),
    stat: async () => null,
    exists: async () => false,
    read: () => Promise.reject(new Error("not in the benchmark")),
    delete: async () => false,
  };
  return store;
}
