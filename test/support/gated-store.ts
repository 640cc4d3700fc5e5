// A blob store that holds every write (counting what it was handed) until
// released: the export worker behind it fills its pipe and waits, so a
// test can act on a worker that is certainly in the middle of a job.
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { BlobStore, BlobWriter, PutResult } from "../../src/storage/blob-store.js";

class GatedWriter extends Writable implements BlobWriter {
  constructor(
    readonly key: string,
    private readonly inner: BlobWriter,
    private readonly gate: Promise<void>,
    private readonly seen: (bytes: number) => void,
  ) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.seen(chunk.length);
    void this.gate.then(() => (this.destroyed ? cb() : this.inner.write(chunk, (err) => cb(err))));
  }

  override _final(cb: (err?: Error | null) => void): void {
    cb();
  }

  async commit(): Promise<PutResult> {
    await finished(this);
    return this.inner.commit();
  }

  async abort(): Promise<void> {
    if (!this.destroyed) this.destroy();
    await this.inner.abort();
  }
}

export interface GatedStore {
  store: BlobStore;
  /** archive bytes the store has been handed so far (held or written) */
  received(): number;
  /** lets every held and later write through */
  release(): void;
}

export function gatedStore(inner: BlobStore): GatedStore {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let received = 0;
  const store: BlobStore = {
    put: (key, source) => inner.put(key, source),
    openWriter: async (key) => new GatedWriter(key, await inner.openWriter(key), gate, (n) => (received += n)),
    stat: (key) => inner.stat(key),
    exists: (key) => inner.exists(key),
    read: (key, range) => inner.read(key, range),
    delete: (key) => inner.delete(key),
  };
  return { store, received: () => received, release };
}
