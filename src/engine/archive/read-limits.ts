// Limits of the archive reader and the stream pieces that enforce them: every
// decompressed byte is counted, and crossing a limit destroys the whole chain
// at once, so memory stays bounded whatever the archive claims.
import { Transform, pipeline, type Duplex, type Readable, type TransformCallback } from "node:stream";
import { InvalidArchiveError, StowageError } from "../errors.js";

export interface ReadLimits {
  /** most bytes one decompressed stream may produce (a ZIP member, the content of a gzip), and the most all members of a ZIP may declare together */
  maxUncompressedBytes: number;
  /** most entries a ZIP may have */
  maxEntries: number;
  /** longest line, in bytes, without its line break; longer lines are reported, not buffered */
  maxLineBytes: number;
  /** largest manifest.json read into memory */
  maxManifestBytes: number;
}

export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxUncompressedBytes: 8 * 1024 ** 3,
  maxEntries: 1000,
  maxLineBytes: 16 * 1024 ** 2,
  maxManifestBytes: 1024 ** 2,
});

/** The defaults with the given limits replacing them. */
export function readLimits(limits: Partial<ReadLimits> = {}): ReadLimits {
  const out = { ...DEFAULT_READ_LIMITS, ...limits };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`read limit ${k} must be a positive integer, got ${v}`);
  }
  return out;
}

/** Passes bytes through and fails the stream as soon as more than `max` went by. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      cb(new InvalidArchiveError(`${this.what} decompresses to more than ${this.max} bytes, the limit; refused as a possible decompression bomb`));
      return;
    }
    cb(null, chunk);
  }
}

/**
 * Pipes the streams into each other and returns the last one. An error anywhere
 * destroys them all; destroying the last one (a consumer that stops early)
 * closes the rest, file handles included. Errors of the streams in `wrap` that
 * are not already ours are replaced by what `wrap` makes of them (zlib's
 * "incorrect header check" becomes an InvalidArchiveError).
 */
export function chain(streams: (Readable | Duplex)[], wrap: Map<Readable | Duplex, (e: Error) => Error> = new Map()): Readable {
  const tail = streams[streams.length - 1] as Readable;
  for (const [stream, make] of wrap) {
    // before pipeline's own listener, so the tail fails with our error, not the raw one
    stream.prependListener("error", (e: Error) => {
      if (!tail.destroyed) tail.destroy(e instanceof StowageError ? e : make(e));
    });
  }
  if (streams.length > 1) pipeline(streams as [Readable, ...Duplex[]], () => {});
  return tail;
}

/** Reads a whole (small) stream, failing once it passes `max` bytes. */
export async function readCapped(stream: Readable, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > max) throw new InvalidArchiveError(`${what} is larger than ${max} bytes, the limit`);
      parts.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts, size);
}
