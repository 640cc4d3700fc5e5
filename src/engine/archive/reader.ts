// The streaming archive reader: what a file on disk is (native ZIP, OpenMemory
// ZIP, JSONL plain or gzip), checked before anything is read from it, and its
// record lines as numbered batches. Nothing here is buffered whole; every
// decompressed byte is counted against the limits.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { z } from "zod";
import { InvalidArchiveError } from "../errors.js";
import { detectContainer, zipFormat, type Container, type DetectedFormat } from "./detect.js";
import { FORMAT_NAME, MANIFEST_PATH, RECORDS_PATH, type Manifest, type ManifestFile } from "./format.js";
import { assertMetadataVersion, assertSupportedVersion, parseJson, parseLine } from "./line-parser.js";
import { NOT_UTF8, firstLine, lineBatches, type RawLine } from "./line-splitter.js";
import { ByteLimit, chain, readCapped, readLimits, type ReadLimits } from "./read-limits.js";
import { memberStream, READ_CHUNK, readZipDirectory, type ZipDirectory } from "./zip-guard.js";

export { DEFAULT_READ_LIMITS, readLimits, type ReadLimits } from "./read-limits.js";
export { parseLine, canonicalType, parseJson, TYPE_ALIASES, versionMajor, assertSupportedVersion, assertMetadataVersion, type ParsedLine } from "./line-parser.js";
export { lineBatches, BATCH_LINES, type RawLine } from "./line-splitter.js";
export { unsafeNameReason } from "./zip-guard.js";

export interface OpenMemberOptions {
  /** the member is gzip (memories.jsonl.gz): gunzip it too, with the same size guard */
  gunzip?: boolean;
}

export interface OpenedArchive {
  path: string;
  format: DetectedFormat;
  container: Container;
  /** native ZIP only */
  manifest: Manifest | null;
  /** names of the ZIP's regular members; empty for JSONL */
  members: string[];
  limits: ReadLimits;
  /**
   * The record lines, in batches of about 1000 (native ZIP: records.jsonl.gz,
   * JSONL: the file itself), blank lines skipped but counted in the numbering.
   * Each call reads the file again. A metadata line of an unsupported version
   * fails the iteration; a native archive that does not match its manifest
   * fails it after the last batch. Throws at once for OPENMEMORY.
   */
  lines(): AsyncIterable<RawLine[]>;
  /** A ZIP member, decompressed and size-guarded (OpenMemory's memories.json, memories.jsonl.gz). */
  openMember(name: string, options?: OpenMemberOptions): Promise<Readable>;
  /** The numbered lines of a ZIP member (gunzipped when asked), as `lines()` gives them. */
  memberLines(name: string, options?: OpenMemberOptions): AsyncIterable<RawLine[]>;
}

const HEAD_BYTES = 4096;

/** Opens the archive at `path`: detects what it is and checks it, reading no record yet. */
export async function openArchive(path: string, limits: Partial<ReadLimits> = {}): Promise<OpenedArchive> {
  const lim = readLimits(limits);
  const head = await readHead(path);
  const container = detectContainer(head);
  if (!container) throw new InvalidArchiveError(unreadable(head));
  return container === "zip" ? openZip(path, lim) : openJsonl(path, container, lim);
}

async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function unreadable(head: Buffer): string {
  const text = head.toString("utf8").replace(/^\uFEFF?\s*/, "");
  if (!head.length) return "not an archive stowage can read: the file is empty";
  if (text.startsWith("[")) return "not an archive stowage can read: a JSON array (FOVEA's format=json export?); export as JSONL (one object per line) instead";
  return "not an archive stowage can read: expected a ZIP (stowage or OpenMemory), a JSONL file or a gzip of one";
}

const gunzipError = (what: string) => (e: Error) => new InvalidArchiveError(`${what} is not valid gzip data (${e.message})`);

/** gunzip → byte limit, after `source`. */
function gunzipped(source: Readable, what: string, limits: ReadLimits): Readable {
  // inflate runs on the thread pool: room to run ahead while the lines before are being worked on
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  return chain([source, gunzip, new ByteLimit(limits.maxUncompressedBytes, what)], new Map([[gunzip, gunzipError(what)]]));
}

/** Checks the version of the first record line, then passes the batches on. */
async function* versionChecked(batches: AsyncIterable<RawLine[]>): AsyncGenerator<RawLine[]> {
  let checked = false;
  for await (const batch of batches) {
    if (!checked && batch.length) {
      assertMetadataVersion(parseLine(batch[0]));
      checked = true;
    }
    yield batch;
  }
}

// ---------------------------------------------------------------- JSONL

function jsonlBytes(path: string, container: Container, limits: ReadLimits): Readable {
  const file = createReadStream(path, { highWaterMark: READ_CHUNK });
  return container === "gzip" ? gunzipped(file, "the gzip file", limits) : file;
}

async function openJsonl(path: string, container: Container, limits: ReadLimits): Promise<OpenedArchive> {
  const first = await firstLine(jsonlBytes(path, container, limits), limits.maxLineBytes);
  // a gzip is only JSONL when its content looks like it; a plain file was checked by detectContainer
  if (container === "gzip" && first && (first.problem === NOT_UTF8 || (!first.problem && !first.text.trimStart().startsWith("{"))))
    throw new InvalidArchiveError("not an archive stowage can read: a gzip file that does not hold JSON lines");
  if (first && !first.problem) assertMetadataVersion(parseLine(first));
  return {
    path,
    format: "JSONL",
    container,
    manifest: null,
    members: [],
    limits,
    lines: () => versionChecked(lineBatches(jsonlBytes(path, container, limits), { maxLineBytes: limits.maxLineBytes })),
    openMember: async () => {
      throw new Error("a JSONL archive has no members");
    },
    memberLines: () => {
      throw new Error("a JSONL archive has no members");
    },
  };
}

// ---------------------------------------------------------------- ZIP

const manifestFileSchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  lines: z.number().int().nonnegative(),
});

const manifestSchema = z.looseObject({
  format: z.literal(FORMAT_NAME),
  version: z.number(),
  generatedAt: z.string(),
  generator: z.string(),
  exporter: z.looseObject({ userId: z.string(), externalId: z.string().nullable() }),
  filter: z.record(z.string(), z.unknown()),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  files: z.array(manifestFileSchema),
});

async function readManifest(path: string, zip: ZipDirectory, limits: ReadLimits): Promise<Manifest> {
  const entry = zip.files.get(MANIFEST_PATH)!;
  if (entry.uncompressedSize > limits.maxManifestBytes) throw new InvalidArchiveError(`${MANIFEST_PATH} is ${entry.uncompressedSize} bytes; at most ${limits.maxManifestBytes} are allowed`);
  const bytes = await readCapped(memberStream(path, entry, limits), limits.maxManifestBytes, MANIFEST_PATH);
  let value: unknown;
  try {
    value = parseJson(bytes.toString("utf8").replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new InvalidArchiveError(`${MANIFEST_PATH} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArchiveError(`${MANIFEST_PATH} is not a JSON object`);
  const raw = value as Record<string, unknown>;
  if (raw.format !== FORMAT_NAME) throw new InvalidArchiveError(`${MANIFEST_PATH} names format ${JSON.stringify(raw.format) ?? "nothing"}, not "${FORMAT_NAME}"`);
  if (raw.version === undefined) throw new InvalidArchiveError(`${MANIFEST_PATH} has no version`);
  // the version before the shape: a v2 manifest may look different, and that is a version error
  assertSupportedVersion(raw.version, MANIFEST_PATH);
  const parsed = manifestSchema.safeParse(typeof raw.version === "string" ? { ...raw, version: Number(raw.version) } : raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArchiveError(`${MANIFEST_PATH} is malformed: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as unknown as Manifest;
}

async function openZip(path: string, limits: ReadLimits): Promise<OpenedArchive> {
  const zip = await readZipDirectory(path, limits);
  const members = [...zip.files.keys()];
  const format = zipFormat(members);
  if (!format) throw new InvalidArchiveError(`not an archive stowage can read: a ZIP with neither ${MANIFEST_PATH} (stowage) nor memories.json (OpenMemory)`);

  let manifest: Manifest | null = null;
  let recordsFile: ManifestFile | undefined;
  if (format === "ZIP") {
    manifest = await readManifest(path, zip, limits);
    for (const f of manifest.files) if (!zip.files.has(f.path)) throw new InvalidArchiveError(`${MANIFEST_PATH} lists ${f.path}, which the ZIP does not hold`);
    recordsFile = manifest.files.find((f) => f.path === RECORDS_PATH);
    if (!zip.files.has(RECORDS_PATH)) throw new InvalidArchiveError(`the stowage archive has no ${RECORDS_PATH}`);
    if (!recordsFile) throw new InvalidArchiveError(`${MANIFEST_PATH} does not describe ${RECORDS_PATH}`);
    const declared = zip.files.get(RECORDS_PATH)!.uncompressedSize;
    if (declared !== recordsFile.bytes) throw new InvalidArchiveError(`${RECORDS_PATH} is ${declared} bytes, ${MANIFEST_PATH} says ${recordsFile.bytes}`);
  }

  const member = (name: string) => {
    const entry = zip.files.get(name);
    if (!entry) throw new InvalidArchiveError(`the archive has no member ${name}`);
    return memberStream(path, entry, limits);
  };
  const openMember = (name: string, options: OpenMemberOptions = {}): Readable => {
    const stream = member(name);
    return options.gunzip ? gunzipped(stream, name, limits) : stream;
  };

  async function* nativeLines(expected: ManifestFile): AsyncGenerator<RawLine[]> {
    const hash = createHash("sha256");
    let bytes = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    let lines = -1;
    const stream = gunzipped(chain([member(RECORDS_PATH), measure]), RECORDS_PATH, limits);
    yield* versionChecked(lineBatches(stream, { maxLineBytes: limits.maxLineBytes, onEnd: (n) => (lines = n) }));
    const sha256 = hash.digest("hex");
    const wrong: string[] = [];
    if (bytes !== expected.bytes) wrong.push(`${bytes} bytes, the manifest says ${expected.bytes}`);
    if (sha256 !== expected.sha256) wrong.push(`sha256 ${sha256}, the manifest says ${expected.sha256}`);
    if (lines !== expected.lines) wrong.push(`${lines} lines, the manifest says ${expected.lines}`);
    if (wrong.length) throw new InvalidArchiveError(`${RECORDS_PATH} does not match ${MANIFEST_PATH}: ${wrong.join("; ")}`);
  }

  return {
    path,
    format,
    container: "zip",
    manifest,
    members,
    limits,
    lines: () => {
      if (!recordsFile) throw new Error("an OpenMemory archive has no record lines: read its members (memories.json, memories.jsonl.gz) with openMember");
      return nativeLines(recordsFile);
    },
    openMember: async (name, options) => openMember(name, options),
    memberLines: (name, options) => lineBatches(openMember(name, options), { maxLineBytes: limits.maxLineBytes }),
  };
}
