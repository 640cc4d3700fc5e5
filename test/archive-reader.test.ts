// The streaming archive reader against real files on disk: native archives
// written the way export.ts writes them, hostile ZIPs built byte by byte,
// decompression bombs, and the real OpenMemory and FOVEA fixtures.
import { once } from "node:events";
import { createWriteStream, readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { ZipArchive } from "archiver";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArchiveError, UnsupportedFormatVersionError } from "../src/engine/errors.js";
import { FORMAT_NAME, GENERATOR, MANIFEST_PATH, RECORDS_PATH, type Manifest } from "../src/engine/archive/format.js";
import { gzipped, jsonlChunks, measured, type Digest, type LineStats } from "../src/engine/archive/lines.js";
import { LineSplitter, type RawLine } from "../src/engine/archive/line-splitter.js";
import { BATCH_LINES, DEFAULT_READ_LIMITS, lineBatches, openArchive, parseJson, parseLine, type OpenedArchive, type ParsedLine, type ReadLimits } from "../src/engine/archive/reader.js";
import type { ExportRecord } from "../src/engine/records.js";
import { fixture } from "./support/fixtures.js";
import { until } from "./support/poll.js";

const FOVEA = fixture("fovea");
const OPENMEMORY = fixture("openmemory");
const MB = 1024 * 1024;

let dir: string;
let seq = 0;
const tmp = (name: string) => join(dir, `${++seq}-${name}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stowage-reader-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function allLines(archive: OpenedArchive): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const batch of archive.lines()) out.push(...batch);
  return out;
}

async function parsedLines(archive: OpenedArchive): Promise<ParsedLine[]> {
  return (await allLines(archive)).map(parseLine);
}

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Opens and reads everything; resolves with the error it failed with. */
async function failure(path: string, limits: Partial<ReadLimits> = {}): Promise<Error> {
  try {
    const a = await openArchive(path, limits);
    if (a.format === "OPENMEMORY") for (const m of a.members) await drain(await a.openMember(m));
    else await allLines(a);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${path} was read without an error`);
}

/** Open file descriptors of this process. */
const openFds = () => readdirSync("/proc/self/fd").length;

/** rss growth (peak over the start) while `fn` runs. */
async function rssGrowth(fn: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 2);
  try {
    await fn();
  } finally {
    clearInterval(timer);
    sample();
  }
  if (process.env.RSS_LOG) console.log(`rss growth ${((peak - before) / MB).toFixed(1)} MB (start ${(before / MB).toFixed(0)} MB)`);
  return peak - before;
}

// ------------------------------------------------------------ native archives, as export.ts writes them

interface NativeOptions {
  records?: { kind: string; data: Record<string, unknown> }[];
  metadata?: Record<string, unknown>;
  patchManifest?: (m: Manifest) => void;
  /** replaces the gzip bytes of records.jsonl.gz (the manifest then describes them, unless patched) */
  recordsGz?: Buffer;
  zip64?: boolean;
}

const sampleRecords = [
  { kind: "app", data: { id: "a1", name: "cursor", createdAt: "2025-01-01T00:00:00.000Z" } },
  { kind: "memory", data: { id: "m1", appId: "a1", content: "café ☕ — 日本語 😀\nsecond line", metadata: { n: 1 } } },
  { kind: "persona", data: { id: "p1", name: "Analyst", role: "r", informationNeed: "i" } },
  { kind: "claim", data: { id: "c1", text: "x".repeat(70_000) } },
];

async function writeNative(path: string, opts: NativeOptions = {}): Promise<Manifest> {
  const now = new Date("2025-07-01T08:00:00.000Z");
  const metadata = opts.metadata ?? { exporterUserId: "u1", exportVersion: "1", exportedAt: now.toISOString(), format: FORMAT_NAME, version: 1, generator: GENERATOR, filter: {} };
  const records = opts.records ?? sampleRecords;
  const pages = (async function* () {
    yield records.map((r) => ({ kind: { kind: r.kind }, data: r.data }) as unknown as ExportRecord);
  })();
  const stats: LineStats = { lines: 0, counts: {} };
  const digest: Digest = { bytes: 0, sha256: "" };
  const zip = new ZipArchive({ zlib: { level: 6 }, forceZip64: opts.zip64 });
  const done = pipeline(zip, createWriteStream(path));
  let source: Readable;
  if (opts.recordsGz) {
    const gz = opts.recordsGz;
    source = Readable.from(measured((async function* () { yield gz; })(), digest));
    stats.lines = records.length + 1;
  } else {
    source = Readable.from(measured(gzipped(jsonlChunks(metadata, pages, stats)), digest));
  }
  zip.append(source, { name: RECORDS_PATH, store: true, date: now });
  await once(source, "end");
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: 1,
    generatedAt: now.toISOString(),
    generator: GENERATOR,
    exporter: { userId: "u1", externalId: null },
    filter: {},
    counts: stats.counts,
    files: [{ path: RECORDS_PATH, bytes: digest.bytes, sha256: digest.sha256, lines: stats.lines }],
  };
  opts.patchManifest?.(manifest);
  zip.append(Buffer.from(JSON.stringify(manifest, null, 2) + "\n"), { name: MANIFEST_PATH, date: now });
  await zip.finalize();
  await done;
  return manifest;
}

describe("native ZIP archives", () => {
  it("reads back what the exporter format writes, line by line, and again on a second pass", async () => {
    const path = tmp("native.zip");
    const manifest = await writeNative(path);
    const a = await openArchive(path, DEFAULT_READ_LIMITS);
    expect(a.format).toBe("ZIP");
    expect(a.container).toBe("zip");
    expect(a.members.sort()).toEqual([MANIFEST_PATH, RECORDS_PATH]);
    expect(a.manifest).toEqual(manifest);
    for (let pass = 0; pass < 2; pass++) {
      const lines = await parsedLines(a);
      expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
      expect(lines.every((l) => l.ok)).toBe(true);
      const ok = lines.filter((l): l is Extract<ParsedLine, { ok: true }> => l.ok);
      expect(ok[0].type).toBe("metadata");
      expect(ok[0].data.exporterUserId).toBe("u1");
      expect(ok.slice(1).map((l) => ({ kind: l.type, data: l.data }))).toEqual(sampleRecords);
    }
    // a member is readable on its own too
    expect(JSON.parse((await drain(await a.openMember(MANIFEST_PATH))).toString())).toEqual(manifest);
  });

  it(`gives batches of ${BATCH_LINES} lines`, async () => {
    const path = tmp("many.zip");
    const records = Array.from({ length: 2 * BATCH_LINES + 100 }, (_, i) => ({ kind: "app", data: { id: `a${i}`, name: `n${i}` } }));
    await writeNative(path, { records });
    const sizes: number[] = [];
    for await (const b of (await openArchive(path)).lines()) sizes.push(b.length);
    expect(sizes).toEqual([BATCH_LINES, BATCH_LINES, 101]);
  });

  it("refuses records that do not match the manifest's sha256, after the last line and before anything else", async () => {
    const path = tmp("badsum.zip");
    await writeNative(path, { patchManifest: (m) => (m.files[0].sha256 = "0".repeat(64)) });
    const a = await openArchive(path);
    const seen: number[] = [];
    const err = await (async () => {
      try {
        for await (const b of a.lines()) seen.push(...b.map((l) => l.line));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect((err as Error).message).toMatch(/records\.jsonl\.gz does not match manifest\.json: sha256 [0-9a-f]{64}, the manifest says 0{64}/);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it("refuses a wrong line count or a wrong size", async () => {
    const lines = tmp("badlines.zip");
    await writeNative(lines, { patchManifest: (m) => (m.files[0].lines += 1) });
    expect((await failure(lines)).message).toMatch(/5 lines, the manifest says 6/);
    const bytes = tmp("badbytes.zip");
    await writeNative(bytes, { patchManifest: (m) => (m.files[0].bytes += 1) });
    const err = await failure(bytes);
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err.message).toMatch(/records\.jsonl\.gz is \d+ bytes, manifest\.json says \d+/);
  });

  it("pins the manifest version: 2 is a typed error with the supported versions, never a guess", async () => {
    const path = tmp("v2.zip");
    await writeNative(path, { patchManifest: (m) => ((m as { version: unknown }).version = 2) });
    const err = await failure(path);
    expect(err).toBeInstanceOf(UnsupportedFormatVersionError);
    expect((err as UnsupportedFormatVersionError).version).toBe("2");
    expect((err as UnsupportedFormatVersionError).supportedVersions).toEqual(["1"]);
    // a v2 manifest of another shape is still a version error, not a shape error
    const other = tmp("v2-other.zip");
    await writeNative(other, { patchManifest: (m) => Object.assign(m, { version: "2.0", files: "elsewhere" }) });
    expect(await failure(other)).toBeInstanceOf(UnsupportedFormatVersionError);
    // 1.x is version 1
    const minor = tmp("v1-minor.zip");
    await writeNative(minor, { patchManifest: (m) => ((m as { version: unknown }).version = "1.3") });
    expect((await openArchive(minor)).format).toBe("ZIP");
  });

  it("refuses a manifest of another format, a malformed one and one without the records", async () => {
    const foreign = tmp("foreign.zip");
    await writeNative(foreign, { patchManifest: (m) => ((m as { format: string }).format = "other-backup") });
    expect((await failure(foreign)).message).toMatch(/manifest\.json names format "other-backup", not "stowage-backup"/);
    const malformed = tmp("malformed.zip");
    await writeNative(malformed, { patchManifest: (m) => ((m.files[0] as { sha256: unknown }).sha256 = 12) });
    expect((await failure(malformed)).message).toMatch(/manifest\.json is malformed: files\.0\.sha256/);
    const norecords = tmp("norecords.zip");
    await writeNative(norecords, { patchManifest: (m) => (m.files = []) });
    expect((await failure(norecords)).message).toMatch(/does not describe records\.jsonl\.gz/);
  });

  it("refuses a metadata line of version 2 inside a v1 archive", async () => {
    const path = tmp("meta2.zip");
    await writeNative(path, { metadata: { exporterUserId: "u1", exportVersion: "2" } });
    const err = await failure(path);
    expect(err).toBeInstanceOf(UnsupportedFormatVersionError);
    expect((err as UnsupportedFormatVersionError).version).toBe("2");
  });

  it("reads a ZIP64 archive", async () => {
    const path = tmp("zip64.zip");
    await writeNative(path, { zip64: true });
    const tail = (await readFile(path)).subarray(-200);
    expect(tail.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const a = await openArchive(path);
    expect((await parsedLines(a)).map((l) => l.ok && l.type)).toEqual(["metadata", "app", "memory", "persona", "claim"]);
  });

  it("stops early without trouble: a consumer that breaks or fails leaves no file open", async () => {
    const path = tmp("break.zip");
    await writeNative(path, { records: Array.from({ length: 3000 }, (_, i) => ({ kind: "app", data: { id: `a${i}` } })) });
    const before = openFds();
    const a = await openArchive(path);
    for (let i = 0; i < 20; i++) for await (const _ of a.lines()) break;
    for (let i = 0; i < 20; i++) await (await a.openMember(RECORDS_PATH, { gunzip: true })).destroy();
    const bad = tmp("break-bad.zip");
    await writeNative(bad, { patchManifest: (m) => (m.files[0].sha256 = "f".repeat(64)) });
    for (let i = 0; i < 20; i++) await failure(bad);
    await until(async () => openFds() <= before, "the archive's files to close");
    expect((await allLines(a)).length).toBe(3001);
  });
});

// ------------------------------------------------------------ hostile ZIPs, byte by byte

interface HandEntry {
  name: string | Buffer;
  data?: Buffer;
  method?: number;
  /** the stored bytes, when not derived from data and method */
  payload?: Buffer;
  /** external attributes (default: a regular 0644 Unix file) */
  attrs?: number;
  madeBy?: number;
  flags?: number;
  /** uncompressed size written in the headers, when it should lie */
  declared?: number;
  crc?: number;
  /** name in the local header, when it should differ */
  localName?: string;
}

function localHeader(e: HandEntry): { header: Buffer; payload: Buffer } {
  const data = e.data ?? Buffer.alloc(0);
  const method = e.method ?? 0;
  const payload = e.payload ?? (method === 8 ? deflateRawSync(data) : data);
  const name = e.localName !== undefined ? Buffer.from(e.localName) : Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(e.flags ?? 0, 6);
  h.writeUInt16LE(method, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(0x5a21, 12);
  h.writeUInt32LE(e.crc ?? crc32(data), 14);
  h.writeUInt32LE(payload.length, 18);
  h.writeUInt32LE(e.declared ?? data.length, 22);
  h.writeUInt16LE(name.length, 26);
  h.writeUInt16LE(0, 28);
  return { header: Buffer.concat([h, name]), payload };
}

function centralHeader(e: HandEntry, offset: number, payloadLength: number): Buffer {
  const data = e.data ?? Buffer.alloc(0);
  const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(e.madeBy ?? 0x031e, 4);
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(e.flags ?? 0, 8);
  h.writeUInt16LE(e.method ?? 0, 10);
  h.writeUInt16LE(0, 12);
  h.writeUInt16LE(0x5a21, 14);
  h.writeUInt32LE(e.crc ?? crc32(data), 16);
  h.writeUInt32LE(payloadLength, 20);
  h.writeUInt32LE(e.declared ?? data.length, 24);
  h.writeUInt16LE(name.length, 28);
  h.writeUInt32LE((e.attrs ?? 0o100644 << 16) >>> 0, 38);
  h.writeUInt32LE(offset, 42);
  return Buffer.concat([h, name]);
}

function endRecord(count: number, cdSize: number, cdOffset: number, comment = ""): Buffer {
  const h = Buffer.alloc(22);
  h.writeUInt32LE(0x06054b50, 0);
  h.writeUInt16LE(count, 8);
  h.writeUInt16LE(count, 10);
  h.writeUInt32LE(cdSize, 12);
  h.writeUInt32LE(cdOffset, 16);
  h.writeUInt16LE(Buffer.byteLength(comment), 20);
  return Buffer.concat([h, Buffer.from(comment)]);
}

/** A ZIP exactly as described, which archiver would refuse to write. */
function handZip(entries: HandEntry[], comment = ""): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const { header, payload } = localHeader(e);
    centrals.push(centralHeader(e, offset, payload.length));
    locals.push(header, payload);
    offset += header.length + payload.length;
  }
  const cd = Buffer.concat(centrals);
  return Buffer.concat([...locals, cd, endRecord(entries.length, cd.length, offset, comment)]);
}

const memoriesJson = { name: "memories.json", data: Buffer.from('{"memories": []}\n'), method: 8 };

async function zipFile(name: string, buf: Buffer): Promise<string> {
  const path = tmp(name);
  await writeFile(path, buf);
  return path;
}

describe("ZIP defences, before any member is read", () => {
  const refusals: [string, HandEntry[], RegExp][] = [
    ["zip slip", [memoriesJson, { name: "../evil", data: Buffer.from("x") }], /"\.\.\/evil" has a '\.\.' segment \(zip slip\)/],
    ["nested zip slip", [memoriesJson, { name: "a/b/../../../evil", data: Buffer.from("x") }], /"a\/b\/\.\.\/\.\.\/\.\.\/evil" has a '\.\.' segment/],
    ["absolute path", [memoriesJson, { name: "/etc/passwd", data: Buffer.from("x") }], /"\/etc\/passwd" is an absolute path/],
    ["backslash", [memoriesJson, { name: "..\\evil.txt", data: Buffer.from("x") }], /"\.\.\\\\evil\.txt" has a backslash/],
    ["drive letter", [memoriesJson, { name: "C:/Windows/evil", data: Buffer.from("x") }], /"C:\/Windows\/evil" starts with a drive letter/],
    ["NUL byte", [memoriesJson, { name: "memories.json\0.txt", data: Buffer.from("x") }], /"memories\.json\\u0000\.txt" has a NUL byte/],
    ["Unix symlink", [memoriesJson, { name: "link", data: Buffer.from("/etc/passwd"), attrs: (0o120777 << 16) >>> 0 }], /"link" is a symbolic link/],
    ["Windows reparse point", [memoriesJson, { name: "junction", data: Buffer.from("x"), madeBy: 0x000a, attrs: 0x400 }], /"junction" is a symbolic link/],
    ["FIFO", [memoriesJson, { name: "fifo", attrs: (0o010644 << 16) >>> 0 }], /"fifo" is not a regular file/],
    ["device", [memoriesJson, { name: "sda", attrs: (0o060644 << 16) >>> 0 }], /"sda" is not a regular file/],
    ["duplicate name", [memoriesJson, { ...memoriesJson, data: Buffer.from('{"evil": true}') }], /"memories\.json" appears more than once/],
    ["bzip2 member", [memoriesJson, { name: "memories.jsonl.gz", method: 12, payload: Buffer.from("BZh91AY&SY"), data: Buffer.from("x") }], /"memories\.jsonl\.gz" uses compression method 12 \(bzip2\); only stored and deflate/],
    ["encrypted member", [memoriesJson, { name: "secret", data: Buffer.from("x"), flags: 1 }], /"secret" is encrypted/],
    ["directory with data", [memoriesJson, { name: "dir/", data: Buffer.from("x") }], /"dir\/" is a directory with data/],
    ["local header naming another file", [memoriesJson, { name: "a.txt", localName: "b.txt", data: Buffer.from("x") }], /"a\.txt" has a different name \("b\.txt"\) in its local header/],
  ];
  for (const [what, entries, message] of refusals) {
    it(`refuses a ${what}`, async () => {
      const err = await failure(await zipFile("hostile.zip", handZip(entries)));
      expect(err).toBeInstanceOf(InvalidArchiveError);
      expect(err.message).toMatch(message);
    });
  }

  it("refuses more entries than maxEntries, from the end record, before unzipper reads the directory", async () => {
    const entries = [memoriesJson, ...Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: Buffer.from("x") }))];
    const path = await zipFile("many.zip", handZip(entries));
    expect((await openArchive(path, { maxEntries: 6 })).members).toHaveLength(6);
    const err = await failure(path, { maxEntries: 5 });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err.message).toBe("the ZIP has 6 entries; at most 5 are allowed");
  });

  it("refuses members that declare more than maxUncompressedBytes together, naming the entry that crosses it", async () => {
    const path = await zipFile("declared.zip", handZip([memoriesJson, { name: "big1", data: Buffer.alloc(600) }, { name: "big2", data: Buffer.alloc(600) }]));
    const err = await failure(path, { maxUncompressedBytes: 1000 });
    expect(err.message).toMatch(/declare more than 1000 bytes uncompressed \(the limit\) by entry "big2" \(600 bytes\)/);
  });

  it("refuses entries whose data overlap (the shared-kernel zip bomb)", async () => {
    // b's local header and data sit inside a's data; the directory points at both
    const inner = localHeader({ name: "b.txt", data: Buffer.from("inner") });
    const innerBytes = Buffer.concat([inner.header, inner.payload]);
    const a: HandEntry = { name: "memories.json", data: innerBytes };
    const outer = localHeader(a);
    const cd = Buffer.concat([centralHeader(a, 0, innerBytes.length), centralHeader({ name: "b.txt", data: Buffer.from("inner") }, outer.header.length, 5)]);
    const body = Buffer.concat([outer.header, outer.payload]);
    const path = await zipFile("overlap.zip", Buffer.concat([body, cd, endRecord(2, cd.length, body.length)]));
    expect((await failure(path)).message).toMatch(/ZIP entries "memories\.json" and "b\.txt" overlap/);
  });

  it("refuses a member whose data fail the CRC, or whose size lies, while streaming it", async () => {
    const crc = await zipFile("crc.zip", handZip([{ ...memoriesJson, crc: 1234 }]));
    const a = await openArchive(crc);
    await expect(drain(await a.openMember("memories.json"))).rejects.toThrow(/entry "memories\.json" fails its CRC check/);
    const short = await zipFile("short.zip", handZip([{ ...memoriesJson, declared: 1000 }]));
    await expect(drain(await (await openArchive(short)).openMember("memories.json"))).rejects.toThrow(/has 17 bytes, its header says 1000/);
    const garbage = await zipFile("garbage.zip", handZip([{ ...memoriesJson, payload: Buffer.from([0x07, 0x00, 0x00, 0x00]) }]));
    const err = await drain(await (await openArchive(garbage)).openMember("memories.json")).catch((e: Error) => e);
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect((err as Error).message).toMatch(/entry "memories\.json" is not valid deflate data/);
  });

  it("reads well-formed hand-made ZIPs: a long comment, a directory entry, stored and deflated members", async () => {
    const path = await zipFile(
      "fine.zip",
      handZip([{ name: "docs/", attrs: (0o040755 << 16) | 0x10 }, memoriesJson, { name: "memories.jsonl.gz", data: gzipSync('{"id":"1"}\n{"id":"2"}') }], "a ZIP comment well over the 80 bytes unzipper looks at by default, to be sure it is found"),
    );
    const a = await openArchive(path);
    expect(a.format).toBe("OPENMEMORY");
    expect(a.members).toEqual(["memories.json", "memories.jsonl.gz"]);
    expect(JSON.parse((await drain(await a.openMember("memories.json"))).toString())).toEqual({ memories: [] });
    const lines: RawLine[] = [];
    for await (const b of a.memberLines("memories.jsonl.gz", { gunzip: true })) lines.push(...b);
    expect(lines).toEqual([
      { line: 1, text: '{"id":"1"}' },
      { line: 2, text: '{"id":"2"}' },
    ]);
    await expect(a.openMember("nope")).rejects.toThrow(/the archive has no member nope/);
    expect(() => a.lines()).toThrow(/OpenMemory archive has no record lines/);
  });

  it("refuses a ZIP that is neither stowage's nor OpenMemory's, and files that are no archive", async () => {
    expect((await failure(await zipFile("other.zip", handZip([{ name: "readme.txt", data: Buffer.from("hi") }])))).message).toMatch(/a ZIP with neither manifest\.json \(stowage\) nor memories\.json \(OpenMemory\)/);
    expect((await failure(await zipFile("truncated.zip", handZip([memoriesJson]).subarray(0, 40)))).message).toMatch(/damaged ZIP: no end of central directory record/);
    expect((await failure(await zipFile("array.json", Buffer.from('[{"type":"persona"}]')))).message).toMatch(/a JSON array \(FOVEA's format=json export\?\)/);
    expect((await failure(await zipFile("binary.bin", Buffer.from([0, 1, 2, 3, 4])))).message).toMatch(/^not an archive stowage can read/);
    expect((await failure(await zipFile("empty.jsonl", Buffer.alloc(0)))).message).toMatch(/the file is empty/);
    expect((await failure(await zipFile("tar.gz", gzipSync(Buffer.alloc(1024, 7))))).message).toMatch(/a gzip file that does not hold JSON lines/);
  });
});

// ------------------------------------------------------------ decompression bombs

describe("decompression bombs", () => {
  const limits = { maxUncompressedBytes: 10 * MB };
  const line = Buffer.from('{"type":"app","data":{"id":"a","name":"bomb"}}\n');
  let linesGz: Buffer;

  beforeAll(() => {
    // 16 MiB of record lines as one gzip member; copies of it concatenate into a valid multi-member gzip
    linesGz = gzipSync(Buffer.alloc(16 * MB, line), { level: 9 });
  });

  it("refuses a ZIP member of 1 GB of zeros (4.5 MB compressed) by its declared size, reading nothing", async () => {
    const path = tmp("bomb.zip");
    const zip = new ZipArchive({ zlib: { level: 1 } });
    const done = pipeline(zip, createWriteStream(path));
    const zeros = Buffer.alloc(MB);
    zip.append(Readable.from((function* () { for (let i = 0; i < 1024; i++) yield zeros; })()), { name: "memories.json" });
    await zip.finalize();
    await done;
    let err: Error | undefined;
    const growth = await rssGrowth(async () => {
      err = await failure(path, limits);
    });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err!.message).toMatch(/declare more than 10485760 bytes uncompressed \(the limit\) by entry "memories\.json" \(1073741824 bytes\)/);
    expect(growth).toBeLessThan(100 * MB);

    // the same bomb with a lying central directory (declares 5 MB): refused while streaming, memory flat
    const buf = await readFile(path);
    const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    expect(buf.readUInt32LE(cd + 24)).toBe(1024 * MB);
    buf.writeUInt32LE(5 * MB, cd + 24);
    const liar = await zipFile("liar.zip", buf);
    const growth2 = await rssGrowth(async () => {
      err = await failure(liar, limits);
    });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err!.message).toMatch(/ZIP entry "memories\.json" decompresses to more than the 5242880 bytes it declares/);
    expect(growth2).toBeLessThan(100 * MB);
  });

  it("refuses a gzip JSONL that decompresses to 10 GB after just past the limit, memory bounded", async () => {
    const copies = (10 * 1024) / 16;
    const path = tmp("bomb.jsonl.gz");
    await writeFile(path, Buffer.concat(Array.from({ length: copies }, () => linesGz)));
    let err: Error | undefined;
    let lines = 0;
    const growth = await rssGrowth(async () => {
      try {
        const a = await openArchive(path, limits);
        expect(a.format).toBe("JSONL");
        expect(a.container).toBe("gzip");
        for await (const b of a.lines()) lines += b.length;
      } catch (e) {
        err = e as Error;
      }
    });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err!.message).toBe("the gzip file decompresses to more than 10485760 bytes, the limit; refused as a possible decompression bomb");
    // lines came out until the limit, and no more than the limit holds
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThanOrEqual((10 * MB) / line.length);
    expect(growth).toBeLessThan(100 * MB);
  });

  it("refuses a gzip of zeros (one endless line) without buffering the line", async () => {
    const path = tmp("zeros.jsonl.gz");
    const zeros = gzipSync(Buffer.concat([Buffer.from('{"type":"metadata","data":{}}\n'), Buffer.alloc(64 * MB)]), { level: 9 });
    await writeFile(path, zeros);
    let err: Error | undefined;
    const growth = await rssGrowth(async () => {
      err = await failure(path, limits);
    });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err!.message).toMatch(/decompresses to more than 10485760 bytes/);
    expect(growth).toBeLessThan(100 * MB);
  });

  it("refuses a gzip bomb inside a native ZIP (records.jsonl.gz stored, as the exporter writes it)", async () => {
    const path = tmp("native-bomb.zip");
    await writeNative(path, { recordsGz: Buffer.concat(Array.from({ length: 64 }, () => linesGz)) });
    const a = await openArchive(path, limits);
    expect(a.format).toBe("ZIP");
    let err: Error | undefined;
    const growth = await rssGrowth(async () => {
      try {
        await allLines(a);
      } catch (e) {
        err = e as Error;
      }
    });
    expect(err).toBeInstanceOf(InvalidArchiveError);
    expect(err!.message).toBe("records.jsonl.gz decompresses to more than 10485760 bytes, the limit; refused as a possible decompression bomb");
    expect(growth).toBeLessThan(100 * MB);
  });
});

// ------------------------------------------------------------ JSONL framing

async function jsonlFile(name: string, content: string | Buffer, gzip = false): Promise<string> {
  const path = tmp(name);
  const buf = typeof content === "string" ? Buffer.from(content) : content;
  await writeFile(path, gzip ? gzipSync(buf) : buf);
  return path;
}

describe("JSONL lines", () => {
  it("strips a BOM, accepts CRLF, skips blank lines but counts them, and takes a last line without a newline", async () => {
    const path = await jsonlFile("bom.jsonl", '\uFEFF{"type":"metadata","data":{"exportVersion":"1.0"}}\r\n\r\n{"type":"entity","data":{"id":"e1"}}\r\n   \t\r\n{"type":"claim","data":{"id":"c1"}}');
    const a = await openArchive(path);
    expect([a.format, a.container, a.manifest, a.members]).toEqual(["JSONL", "plain", null, []]);
    expect(await allLines(a)).toEqual([
      { line: 1, text: '{"type":"metadata","data":{"exportVersion":"1.0"}}' },
      { line: 3, text: '{"type":"entity","data":{"id":"e1"}}' },
      { line: 5, text: '{"type":"claim","data":{"id":"c1"}}' },
    ]);
    await expect(a.openMember("x")).rejects.toThrow(/no members/);
  });

  it("gives a malformed line in the middle its exact line number, and keeps reading", async () => {
    const text = ['{"type":"persona","data":{"id":"p1"}}', "", '{"type":"persona","data":{"id":"p2"}}', '{"type":"persona","data":{"id":"p3"', '{"type":"persona","data":{"id":"p4"}}', "[1,2]", '{"data":{}}', '{"type":"claim","data":[]}'].join("\n");
    const parsed = await parsedLines(await openArchive(await jsonlFile("bad.jsonl", text, true)));
    expect(parsed.map((p) => [p.line, p.ok])).toEqual([
      [1, true],
      [3, true],
      [4, false],
      [5, true],
      [6, false],
      [7, false],
      [8, false],
    ]);
    const [four, , six, seven, eight] = parsed.slice(2);
    expect(four).toMatchObject({ ok: false, line: 4, kind: null, message: expect.stringMatching(/^not valid JSON/) });
    expect(six).toMatchObject({ line: 6, message: 'a line must be a JSON object with "type" and "data", got an array' });
    expect(seven).toMatchObject({ line: 7, message: 'the line has no string "type"' });
    expect(eight).toMatchObject({ line: 8, kind: "claim", message: 'the line has no object "data", got an array' });
  });

  it("reports a too-long line by number without buffering it, and the next lines still parse", async () => {
    const long = '{"type":"claim","data":{"text":"' + "y".repeat(5000) + '"}}';
    const text = ['{"type":"persona","data":{"id":"p1"}}', '{"type":"persona","data":{"id":"p2"}}', long, '{"type":"persona","data":{"id":"p4"}}', "", long + "\r", '{"type":"persona","data":{"id":"p7"}}'].join("\n");
    const parsed = await parsedLines(await openArchive(await jsonlFile("long.jsonl", text), { maxLineBytes: 1000 }));
    expect(parsed.map((p) => [p.line, p.ok])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, true],
      [6, false],
      [7, true],
    ]);
    expect(parsed[2]).toEqual({ ok: false, line: 3, kind: null, message: "the line is longer than 1000 bytes, the limit" });
    // exactly at the limit is fine, CR not counted
    const exact = "x".repeat(998);
    const at = await allLines(await openArchive(await jsonlFile("exact.jsonl", `{"a":1}\n"${exact}"\r\n"${exact}x"\n`), { maxLineBytes: 1000 }));
    expect(at.map((l) => [l.line, !!l.problem])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  it("skips a 64 MB line with memory bounded", async () => {
    const path = tmp("huge-line.jsonl");
    const out = createWriteStream(path);
    out.write('{"type":"persona","data":{"id":"p1"}}\n{"type":"claim","data":{"text":"');
    const chunk = Buffer.alloc(MB, "z");
    for (let i = 0; i < 64; i++) if (!out.write(chunk)) await once(out, "drain");
    out.end('"}}\n{"type":"persona","data":{"id":"p3"}}\n');
    await once(out, "finish");
    let lines: RawLine[] = [];
    const growth = await rssGrowth(async () => {
      lines = await allLines(await openArchive(path, { maxLineBytes: MB }));
    });
    expect(lines.map((l) => [l.line, l.problem ?? null])).toEqual([
      [1, null],
      [2, `the line is longer than ${MB} bytes, the limit`],
      [3, null],
    ]);
    expect(growth).toBeLessThan(100 * MB);
  });

  it("reports invalid UTF-8 on its line", async () => {
    const buf = Buffer.concat([Buffer.from('{"type":"a","data":{}}\n{"type":"b","data":{"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}\n{"type":"c","data":{}}\n')]);
    const lines = await allLines(await openArchive(await jsonlFile("latin.jsonl", buf)));
    expect(lines.map((l) => [l.line, l.problem ?? null])).toEqual([
      [1, null],
      [2, "the line is not valid UTF-8"],
      [3, null],
    ]);
  });

  it("pins the metadata version: \"2\" is a typed error, FOVEA's \"1.0\" is version 1", async () => {
    for (const [name, meta, gzip] of [
      ["v2.jsonl", '{"type":"metadata","data":{"exporterUserId":"u","exportVersion":"2"}}', false],
      ["v2.jsonl.gz", '{"type":"metadata","data":{"exporterUserId":"u","exportVersion":"2.0"}}', true],
      ["v2-version.jsonl", '{"type":"metadata","data":{"version":2}}', false],
      ["v2-flat.jsonl", '{"type":"metadata","exporterUserId":"u","version":"2"}', false],
      ["garbage-version.jsonl", '{"type":"metadata","data":{"exportVersion":"latest"}}', false],
    ] as const) {
      const err = await failure(await jsonlFile(name, `\n${meta}\n{"type":"persona","data":{"id":"p"}}\n`, gzip));
      expect(err, name).toBeInstanceOf(UnsupportedFormatVersionError);
      expect((err as UnsupportedFormatVersionError).supportedVersions).toEqual(["1"]);
    }
    const err = (await failure(await jsonlFile("v2b.jsonl", '{"type":"metadata","data":{"exportVersion":"2"}}'))) as UnsupportedFormatVersionError;
    expect(err.version).toBe("2");
    expect(err.message).toMatch(/line 1.*version "2"; this stowage reads version 1/);
    for (const v of ['"1.0"', '"1"', "1", '"1.2.3"']) {
      const a = await openArchive(await jsonlFile("v1.jsonl", `{"type":"metadata","data":{"exporterUserId":"u","exportVersion":${v},"exportedAt":"2026-01-01T00:00:00Z"}}\n`));
      expect((await parsedLines(a))[0]).toMatchObject({ ok: true, type: "metadata" });
    }
    // the flat legacy metadata line is metadata
    const flat = await parsedLines(await openArchive(await jsonlFile("flat.jsonl", '{"type":"metadata","exporterUserId":"u9","version":"1.0"}\n')));
    expect(flat[0]).toEqual({ ok: true, line: 1, type: "metadata", sourceType: "metadata", data: { exporterUserId: "u9", version: "1.0" } });
  });
});

describe("parseLine", () => {
  it("drops __proto__ keys at every depth, escaped or not: no prototype is polluted", () => {
    const text = JSON.stringify({ type: "persona", data: { id: "p", nested: { list: [{ ok: 1 }] } } })
      .replace('"id"', '"__proto__":{"polluted":"yes"},"id"')
      .replace('"ok"', '"\\u005f_proto__":{"polluted2":"yes"},"ok"')
      .replace('"nested"', '"\\u005f\\u005fproto\\u005f\\u005f":{"polluted3":"yes"},"nested"');
    const parsed = parseLine({ line: 1, text });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const hasProtoKey = (v: unknown): boolean =>
      typeof v === "object" && v !== null && (Object.prototype.hasOwnProperty.call(v, "__proto__") || Object.values(v).some(hasProtoKey));
    expect(hasProtoKey(parsed.data)).toBe(false);
    expect(parsed.data).toEqual({ id: "p", nested: { list: [{ ok: 1 }] } });
    expect(Object.getPrototypeOf(parsed.data)).toBe(Object.prototype);
    // the usual ways of copying it reach no prototype either
    const copy = Object.assign({}, parsed.data, (parsed.data.nested as { list: object[] }).list[0]);
    const probe = {} as Record<string, unknown>;
    expect([probe.polluted, probe.polluted2, probe.polluted3, (copy as Record<string, unknown>).polluted]).toEqual([undefined, undefined, undefined, undefined]);
    // a top-level __proto__ (around type and data) is dropped too
    expect(parseJson('{"__proto__":{"type":"x"},"a":1}')).toEqual({ a: 1 });
    expect(({} as Record<string, unknown>).type).toBeUndefined();
  });

  it("maps FOVEA's discriminators to our kinds, recording the collection kind", () => {
    const cases: [string, string, string | undefined][] = [
      ["entity", "worldEntity", undefined],
      ["event", "worldEvent", undefined],
      ["time", "worldTime", undefined],
      ["location", "worldLocation", undefined],
      ["entity_collection", "worldCollection", "entity"],
      ["event_collection", "worldCollection", "event"],
      ["time_collection", "worldCollection", "time"],
      ["entityCollection", "worldCollection", "entity"],
      ["eventCollection", "worldCollection", "event"],
      ["timeCollection", "worldCollection", "time"],
      ["relation", "worldRelation", undefined],
      ["summary", "videoSummary", undefined],
      ["claim_relation", "claimRelation", undefined],
      // ours, and FOVEA's documented names, pass unchanged
      ...["worldEntity", "worldEvent", "worldTime", "worldLocation", "worldCollection", "worldRelation", "videoSummary", "claimRelation", "persona", "ontology", "claim", "annotation", "video", "memory", "app"].map((t) => [t, t, undefined] as [string, string, undefined]),
      // unknown types come back as they are; the caller decides
      ["hologram", "hologram", undefined],
      ["constructor", "constructor", undefined],
    ];
    for (const [source, type, memberKind] of cases) {
      const p = parseLine({ line: 7, text: JSON.stringify({ type: source, data: { id: "x" } }) });
      expect(p, source).toEqual({ ok: true, line: 7, type, sourceType: source, data: memberKind ? { id: "x", memberKind } : { id: "x" } });
    }
    // a memberKind the line already has is kept
    expect(parseLine({ line: 1, text: '{"type":"event_collection","data":{"memberKind":"custom"}}' })).toMatchObject({ type: "worldCollection", data: { memberKind: "custom" } });
  });

  it("reports a line problem from the splitter as a failure", () => {
    expect(parseLine({ line: 9, text: "", problem: "the line is not valid UTF-8" })).toEqual({ ok: false, line: 9, kind: null, message: "the line is not valid UTF-8" });
  });
});

// ------------------------------------------------------------ real fixtures

describe("FOVEA fixtures", () => {
  // fixture README: lines per file, and lines per type
  const expected: Record<string, { lines: number; types: Record<string, number> }> = {
    "cross-user-import-real-export.jsonl": { lines: 7, types: { persona: 1, ontology: 1, entity: 1, summary: 1, claim: 2, annotation: 1 } },
    "akeil-issue-121.jsonl": { lines: 199, types: { persona: 4, ontology: 4, entity: 33, summary: 48, claim: 60, annotation: 50 } },
    "microvent-seed.jsonl": { lines: 124, types: { persona: 4, ontology: 4, entity: 6, summary: 13, claim: 97 } },
    "cross-user-import-rich-export.jsonl": { lines: 885, types: { persona: 20, ontology: 20, entity: 79, summary: 136, claim: 621, annotation: 9 } },
  };

  it("has a case for every fixture file", async () => {
    expect((await readdir(FOVEA)).filter((f) => f.endsWith(".jsonl")).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [file, want] of Object.entries(expected)) {
    it(`reads ${file} with the README's counts`, async () => {
      const a = await openArchive(join(FOVEA, file));
      expect([a.format, a.container]).toEqual(["JSONL", "plain"]);
      const parsed = await parsedLines(a);
      expect(parsed.map((p) => p.line)).toEqual(Array.from({ length: want.lines }, (_, i) => i + 1));
      const bySource: Record<string, number> = {};
      const byType: Record<string, number> = {};
      for (const p of parsed) {
        expect(p.ok).toBe(true);
        if (!p.ok) continue;
        bySource[p.sourceType] = (bySource[p.sourceType] ?? 0) + 1;
        byType[p.type] = (byType[p.type] ?? 0) + 1;
      }
      expect(bySource).toEqual(want.types);
      expect(byType.worldEntity).toBe(want.types.entity);
      expect(byType.videoSummary).toBe(want.types.summary);
      expect(byType.entity).toBeUndefined();
    });
  }
});

describe("OpenMemory fixtures", () => {
  const expected: Record<string, number> = { "small.zip": 25, "second_user.zip": 8, "medium.zip": 5000 };
  for (const [file, memories] of Object.entries(expected)) {
    it(`opens ${file} as OPENMEMORY with both members readable`, async () => {
      const a = await openArchive(join(OPENMEMORY, file));
      expect([a.format, a.container, a.manifest]).toEqual(["OPENMEMORY", "zip", null]);
      expect(a.members.sort()).toEqual(["memories.json", "memories.jsonl.gz"]);
      const doc = JSON.parse((await drain(await a.openMember("memories.json"))).toString("utf8")) as { memories: unknown[]; export_meta: { version: string } };
      expect(doc.memories).toHaveLength(memories);
      expect(doc.export_meta.version).toBe("1");
      // the raw gzip member, and its lines through the same guard
      const gz = await drain(await a.openMember("memories.jsonl.gz"));
      expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const lines: RawLine[] = [];
      for await (const b of a.memberLines("memories.jsonl.gz", { gunzip: true })) lines.push(...b);
      expect(lines.map((l) => l.line)).toEqual(Array.from({ length: memories }, (_, i) => i + 1));
      const ids = lines.map((l) => (parseJson(l.text) as { id: string }).id);
      expect(ids).toEqual((doc.memories as { id: string }[]).map((m) => m.id));
    });
  }
});

// ------------------------------------------------------------ properties

/** The value as JSON gives it back, without __proto__ keys (which the reader drops). */
function canonical(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (k, x) => (k === "__proto__" ? undefined : x));
}

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

describe("properties", () => {
  it("any JSON objects written as JSONL (CRLF/LF, BOM, gzip, trailing newline, blank lines) read back with their line numbers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(jsonObject, fc.boolean(), fc.constantFrom(null, "", "  ", "\t")), { maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (rows, bom, gzip, trailing) => {
          let text = "";
          const want: { line: number; value: unknown }[] = [];
          let n = 0;
          rows.forEach(([obj, crlf, blank], i) => {
            const eol = crlf ? "\r\n" : "\n";
            if (blank !== null) {
              text += blank + eol;
              n++;
            }
            text += JSON.stringify(obj) + (i < rows.length - 1 || trailing ? eol : "");
            want.push({ line: ++n, value: canonical(obj) });
          });
          // a plain file without a line is no archive (an empty gzip is an empty JSONL)
          if (!rows.length && !gzip) return;
          const buf = Buffer.from((bom ? "\uFEFF" : "") + text);
          const path = await jsonlFile(gzip ? "prop.jsonl.gz" : "prop.jsonl", buf, gzip);
          const a = await openArchive(path);
          const got = (await allLines(a)).map((l) => ({ line: l.line, value: parseJson(l.text) }));
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("splitting the bytes anywhere (inside a UTF-8 character, between CR and LF) changes nothing", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(jsonObject, fc.boolean()), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (rows, cuts) => {
        const text = "\uFEFF" + rows.map(([o, crlf]) => JSON.stringify(o) + (crlf ? "\r\n" : "\n")).join("");
        const buf = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((x, y) => x - y);
        const splitter = new LineSplitter(DEFAULT_READ_LIMITS.maxLineBytes);
        const out: RawLine[] = [];
        let prev = 0;
        for (const p of [...points, buf.length]) {
          splitter.push(buf.subarray(prev, p), out);
          prev = p;
        }
        splitter.end(out);
        expect(out.map((l) => l.line)).toEqual(rows.map((_, i) => i + 1));
        expect(out.map((l) => parseJson(l.text))).toEqual(rows.map(([o]) => canonical(o)));
        expect(splitter.lines).toBe(rows.length);
      }),
      { numRuns: 200 },
    );
  });

  it("lineBatches counts the lines of a stream and hands them on in order", async () => {
    let total = -1;
    const src = Readable.from(["a\n", "\n", "b\r\nc"].map((s) => Buffer.from(s)));
    const got: RawLine[] = [];
    for await (const b of lineBatches(src, { maxLineBytes: 10, onEnd: (n) => (total = n) })) got.push(...b);
    expect(got).toEqual([
      { line: 1, text: "a" },
      { line: 3, text: "b" },
      { line: 4, text: "c" },
    ]);
    expect(total).toBe(4);
  });
});
