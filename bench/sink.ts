import { closeSync, openSync, writeSync, writevSync } from "node:fs";
import { Writable } from "node:stream";

/** A Writable into /dev/null that counts what it was given. */
export class NullSink extends Writable {
  bytes = 0;
  private fd = openSync("/dev/null", "w");

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.bytes += chunk.length;
    writeSync(this.fd, chunk);
    cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    for (const c of chunks) this.bytes += c.chunk.length;
    writevSync(this.fd, chunks.map((c) => c.chunk));
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    closeSync(this.fd);
    cb();
  }
}
