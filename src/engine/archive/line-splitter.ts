// Streaming line splitting for JSONL: byte chunks in, numbered lines out.
// Splits on the LF byte (it never occurs inside a multi-byte UTF-8 sequence,
// so characters cut by a chunk boundary come out whole), accepts CRLF, strips
// a leading BOM, skips blank lines while counting them, and never buffers a
// line longer than the limit: it is skipped and reported by number.
import { isUtf8 } from "node:buffer";

/** One line of a record stream; `line` is 1-based. With `problem`, the line could not be read (too long, not UTF-8) and `text` is empty. */
export interface RawLine {
  line: number;
  text: string;
  problem?: string;
}

/**
 * A batch is yielded once it holds this many lines… (small enough that a
 * batch's records die young: an import keeps a batch while it looks its ids
 * up, and V8 promotes what survives two scavenges to the old generation,
 * where the garbage of 1000-line batches grew a million-record import's heap)
 */
export const BATCH_LINES = 250;
/** …or this many characters of text, whichever comes first. */
export const BATCH_CHARS = 8 * 1024 * 1024;

/** The problem of a line that is not UTF-8. */
export const NOT_UTF8 = "the line is not valid UTF-8";

const LF = 0x0a;
const CR = 0x0d;
const BLANK = /^\s*$/;

export class LineSplitter {
  private parts: Buffer[] = [];
  /** bytes of the current line so far (also counted while skipping) */
  private size = 0;
  /** the current line is too long: its bytes are dropped until the next LF */
  private skipping = false;
  /** lines completed so far (blank ones included) */
  lines = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** True while a line is being skipped for being too long (its number is `lines + 1`). */
  get overlong(): boolean {
    return this.skipping;
  }

  /** Splits a chunk; complete lines are appended to `out`. */
  push(chunk: Buffer, out: RawLine[]): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      this.take(chunk, start, nl === -1 ? chunk.length : nl);
      if (nl === -1) return;
      this.finish(out);
      start = nl + 1;
    }
  }

  /** The end of the stream: a last line without a line break is a line too. */
  end(out: RawLine[]): void {
    if (this.size > 0 || this.skipping) this.finish(out);
  }

  private take(chunk: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    this.size += n;
    if (this.skipping) return;
    // one byte of slack for the CR of a CRLF
    if (this.size > this.maxLineBytes + 1) {
      this.skipping = true;
      this.parts = [];
      return;
    }
    this.parts.push(chunk.subarray(start, end));
  }

  private finish(out: RawLine[]): void {
    const line = ++this.lines;
    const parts = this.parts;
    const size = this.size;
    const skipped = this.skipping;
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    const tooLong = { line, text: "", problem: `the line is longer than ${this.maxLineBytes} bytes, the limit` };
    if (skipped) {
      out.push(tooLong);
      return;
    }
    let buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
    if (buf.length && buf[buf.length - 1] === CR) buf = buf.subarray(0, buf.length - 1);
    if (line === 1 && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    if (buf.length > this.maxLineBytes) {
      out.push(tooLong);
      return;
    }
    if (!isUtf8(buf)) {
      out.push({ line, text: "", problem: NOT_UTF8 });
      return;
    }
    const text = buf.toString("utf8");
    if (BLANK.test(text)) return;
    out.push({ line, text });
  }
}

export interface LineBatchOptions {
  maxLineBytes: number;
  /** called once the stream has ended, with the number of lines it had (blank ones included) */
  onEnd?: (lines: number) => void;
}

/** Numbered non-blank lines of a byte stream, in batches of about BATCH_LINES. */
export async function* lineBatches(source: AsyncIterable<Buffer | string>, options: LineBatchOptions): AsyncGenerator<RawLine[]> {
  const splitter = new LineSplitter(options.maxLineBytes);
  let batch: RawLine[] = [];
  let chars = 0;
  const out: RawLine[] = [];
  for await (const chunk of source) {
    splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, out);
    for (const l of out) {
      batch.push(l);
      chars += l.text.length;
      if (batch.length >= BATCH_LINES || chars >= BATCH_CHARS) {
        yield batch;
        batch = [];
        chars = 0;
      }
    }
    out.length = 0;
  }
  splitter.end(out);
  batch.push(...out);
  if (batch.length) yield batch;
  options.onEnd?.(splitter.lines);
}

/**
 * The first non-blank line of a stream, reading no further than needed: a
 * first line that turns out too long is reported as soon as it passes the
 * limit, without reading to its end. Null when the stream has no lines.
 */
export async function firstLine(source: AsyncIterable<Buffer | string>, maxLineBytes: number): Promise<RawLine | null> {
  const splitter = new LineSplitter(maxLineBytes);
  const out: RawLine[] = [];
  for await (const chunk of source) {
    splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, out);
    if (out.length) return out[0];
    if (splitter.overlong) return { line: splitter.lines + 1, text: "", problem: `the line is longer than ${maxLineBytes} bytes, the limit` };
  }
  splitter.end(out);
  return out[0] ?? null;
}
