// A streaming reader for the one JSON document shape OpenMemory writes:
// `memories.json` is a top-level object whose values are objects (`user`,
// `export_meta`) or arrays of records (`apps`, `memories`, ...). The document
// can be large, so it is never parsed whole: the bytes are walked once,
// tracking strings, escapes and nesting, and each array element (or object
// section) is handed out as its own small JSON text, at most `maxElementBytes`
// long. Structural characters are ASCII, and in UTF-8 no byte of a multi-byte
// character is below 0x80, so walking bytes is safe for any UTF-8 input.
import type { Readable } from "node:stream";
import { InvalidArchiveError } from "../errors.js";

export interface JsonElement {
  /** the top-level key the value sits under */
  section: string;
  /** the position within an array section; null when the section's value is not an array */
  index: number | null;
  /** 1-based line of the document where the element starts */
  line: number;
  /** the element's JSON text; absent when it was not wanted or could not be read */
  text?: string;
  /** why the element could not be read (too large, not UTF-8) */
  problem?: string;
}

export interface JsonSectionsOptions {
  /** the document's name, for messages */
  name: string;
  /** largest element kept, in bytes; larger ones are skipped and reported */
  maxElementBytes: number;
  /** sections whose elements are wanted as text (default: all); the others are skipped without buffering */
  want?: (section: string) => boolean;
  /** called once the document ended, with the number of lines it has */
  onEnd?: (lines: number) => void;
}

const enum S {
  /** before the opening `{` */
  Start,
  /** after `{` or `,`: a key, or `}` (only right after `{`) */
  Key,
  /** inside a key string */
  InKey,
  /** after a key: `:` */
  Colon,
  /** after `:`: the section's value */
  Value,
  /** inside an array section: an element or `]` */
  Element,
  /** after an element: `,` or `]` */
  AfterElement,
  /** inside an element (or an object section's value) */
  InElement,
  /** after a section's value: `,` or `}` */
  AfterValue,
  /** after the closing `}`: only whitespace */
  End,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const isSpace = (b: number) => b === 0x20 || b === LF || b === 0x0d || b === 0x09;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function describe(b: number): string {
  return b >= 0x20 && b < 0x7f ? JSON.stringify(String.fromCharCode(b)) : `byte 0x${b.toString(16).padStart(2, "0")}`;
}

/** The elements of `stream`'s sections, in document order. Malformed structure throws an InvalidArchiveError naming the line. */
export async function* jsonSections(stream: Readable, options: JsonSectionsOptions): AsyncGenerator<JsonElement> {
  const { name, maxElementBytes } = options;
  const want = options.want ?? (() => true);
  let state = S.Start as S;
  let line = 1;
  let first = true; // a BOM may open the document

  // the current chunk, and where the key or element being read started in it (-1: not in this chunk)
  let buf: Buffer = Buffer.alloc(0);
  let from = -1;

  // the key being read, and the section it names
  let keyParts: Buffer[] = [];
  let keyEscape = false;
  let section = "";
  let wanted = true;
  let sectionIsArray = false;
  let index = -1;
  /** `}` or `]` allowed: right after the opening bracket */
  let emptyOk = true;

  // the element being read
  let parts: Buffer[] = [];
  let size = 0;
  let keep = false;
  let tooLarge = false;
  let startLine = 0;
  let depth = 0;
  let inString = false;
  let escape = false;
  /** a scalar element (number, literal) ends at a delimiter, which is not part of it */
  let scalar = false;

  const fail = (message: string): never => {
    throw new InvalidArchiveError(`${name} is not an OpenMemory export: ${message} (line ${line})`, line);
  };

  /** Keeps the element's bytes of this chunk up to `to` (exclusive). */
  const take = (to: number) => {
    if (keep && !tooLarge && from >= 0 && to > from) {
      size += to - from;
      if (size > maxElementBytes) {
        tooLarge = true;
        parts = [];
      } else parts.push(buf.subarray(from, to));
    }
    from = -1;
  };

  const startElement = (at: number, c: number) => {
    state = S.InElement;
    keep = wanted;
    tooLarge = false;
    startLine = line;
    parts = [];
    size = 0;
    depth = 0;
    inString = false;
    escape = false;
    scalar = false;
    from = at;
    if (c === QUOTE) inString = true;
    else if (c === 0x7b || c === 0x5b) depth = 1;
    else if (c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) fail(`expected a value in ${JSON.stringify(section)}, found ${describe(c)}`);
    else scalar = true;
  };

  const finish = (to: number): JsonElement => {
    take(to);
    state = sectionIsArray ? S.AfterElement : S.AfterValue;
    const el: JsonElement = { section, index: sectionIsArray ? index : null, line: startLine };
    const where = `${name} ${section}${sectionIsArray ? `[${index}]` : ""} (line ${startLine})`;
    if (tooLarge) el.problem = `${where} is larger than ${maxElementBytes} bytes, the limit for one record`;
    else if (keep) {
      try {
        el.text = utf8.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
      } catch {
        el.problem = `${where} is not valid UTF-8`;
      }
    }
    parts = [];
    size = 0;
    return el;
  };

  const out: JsonElement[] = [];

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    buf = chunk;
    if (first && buf.length) {
      first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    // a key or an element that began in an earlier chunk continues at this chunk's start
    from = state === S.InElement || state === S.InKey ? 0 : -1;
    // where the next quote, backslash and line feed are in this chunk (-1: not looked for yet)
    let nextQuote = -1;
    let nextBackslash = -1;
    let nextLf = -1;
    const indexOrEnd = (byte: number, at: number) => {
      const found = buf.indexOf(byte, at);
      return found < 0 ? buf.length : found;
    };

    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b === LF) line++;
      if (state === S.InElement) {
        if (inString) {
          if (escape) escape = false;
          else if (b === BACKSLASH) escape = true;
          else if (b === QUOTE) {
            inString = false;
            // a string element ends with its quote
            if (depth === 0) out.push(finish(i + 1));
          } else {
            // plain text inside a string (most of the bytes): on to the next byte that matters
            if (nextQuote < i) nextQuote = indexOrEnd(QUOTE, i);
            if (nextBackslash < i) nextBackslash = indexOrEnd(BACKSLASH, i);
            if (nextLf < i) nextLf = indexOrEnd(LF, i);
            i = Math.min(nextQuote, nextBackslash, nextLf) - 1;
          }
        } else if (scalar) {
          if (b === 0x2c || b === 0x5d || b === 0x7d || isSpace(b)) {
            out.push(finish(i));
            // the delimiter is read again in the next state
            i--;
            if (b === LF) line--;
          }
        } else if (b === QUOTE) inString = true;
        else if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) {
          depth--;
          if (depth === 0) out.push(finish(i + 1));
        }
        continue;
      }
      if (state === S.InKey) {
        if (keyEscape) keyEscape = false;
        else if (b === BACKSLASH) keyEscape = true;
        else if (b === QUOTE) {
          keyParts.push(buf.subarray(from, i + 1));
          from = -1;
          const raw = Buffer.concat(keyParts).toString("utf8");
          keyParts = [];
          try {
            section = JSON.parse(raw) as string;
          } catch {
            fail(`the key ${raw} is not a valid JSON string`);
          }
          state = S.Colon;
        } else if (b === LF) fail("a line break inside a key");
        continue;
      }
      if (isSpace(b)) continue;
      switch (state) {
        case S.Start:
          if (b !== 0x7b) fail(`expected a JSON object, found ${describe(b)}`);
          state = S.Key;
          emptyOk = true;
          break;
        case S.Key:
          if (b === 0x7d && emptyOk) state = S.End;
          else if (b === QUOTE) {
            state = S.InKey;
            from = i;
            keyParts = [];
            keyEscape = false;
          } else fail(`expected a key, found ${describe(b)}`);
          break;
        case S.Colon:
          if (b !== 0x3a) fail(`expected ":" after the key ${JSON.stringify(section)}, found ${describe(b)}`);
          state = S.Value;
          break;
        case S.Value:
          wanted = want(section);
          if (b === 0x5b) {
            sectionIsArray = true;
            index = -1;
            emptyOk = true;
            state = S.Element;
          } else {
            // an object (or scalar) section: read whole, as one element
            sectionIsArray = false;
            startElement(i, b);
          }
          break;
        case S.Element:
          if (b === 0x5d && emptyOk) state = S.AfterValue;
          else {
            index++;
            startElement(i, b);
          }
          break;
        case S.AfterElement:
          if (b === 0x2c) {
            emptyOk = false;
            state = S.Element;
          } else if (b === 0x5d) state = S.AfterValue;
          else fail(`expected "," or "]" in ${JSON.stringify(section)}, found ${describe(b)}`);
          break;
        case S.AfterValue:
          if (b === 0x2c) {
            emptyOk = false;
            state = S.Key;
          } else if (b === 0x7d) state = S.End;
          else fail(`expected "," or "}" after ${JSON.stringify(section)}, found ${describe(b)}`);
          break;
        case S.End:
          fail(`unexpected ${describe(b)} after the end of the document`);
      }
    }
    // the chunk ended inside an element or a key: keep what was read of it
    if (state === S.InElement) take(buf.length);
    else if (state === S.InKey && from >= 0) keyParts.push(buf.subarray(from));
    if (out.length) {
      yield* out;
      out.length = 0;
    }
  }
  if (state !== S.End) fail(state === S.Start ? "the document is empty" : `the document ends early (inside ${section ? JSON.stringify(section) : "the top-level object"})`);
  options.onEnd?.(line);
}
