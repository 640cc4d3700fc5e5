// A ZIP's directory, checked before any member is read, and guarded member
// streams. unzipper reads the central directory; we find and check the end
// record ourselves first (entry count, sizes) and read member data ourselves
// from the checked offsets, because unzipper's entry streams inflate every
// non-zero method as deflate, trust the local header when the directory says
// size 0, check neither CRC nor length, and leave the file open when the
// consumer stops early.
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { createInflateRaw, crc32 } from "node:zlib";
import unzipper, { type CentralDirectory, type File as ZipFileRecord } from "unzipper";
import { InvalidArchiveError } from "../errors.js";
import { chain, type ReadLimits } from "./read-limits.js";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** offset of the local file header */
  headerOffset: number;
  /** offset of the member's data, from its local header */
  dataStart: number;
  directory: boolean;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** regular files by name */
  files: Map<string, ZipEntry>;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
/** a generous ceiling per entry for the central directory (46 bytes + name + extra + comment) */
const CENTRAL_BYTES_PER_ENTRY = 4096;

const METHOD_NAMES: Record<number, string> = { 1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "LZMA", 93: "zstd", 95: "xz", 98: "PPMd", 99: "AES encryption" };

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DOS_DIRECTORY = 0x10;
const DOS_REPARSE_POINT = 0x400;

const damaged = (why: string) => new InvalidArchiveError(`damaged ZIP: ${why}`);

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  if (bytesRead < length) throw damaged("the file ends early");
  return buf;
}

interface EndRecord {
  /** where the end record starts (the zip64 one when there is one) */
  end: number;
  /** bytes from the classic end record to the end of the file, for unzipper */
  tail: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
}

async function readEndRecord(fh: FileHandle, size: number): Promise<EndRecord> {
  if (size < EOCD_SIZE) throw damaged("too short to be a ZIP");
  const len = Math.min(size, EOCD_SIZE + 0xffff);
  const buf = await readAt(fh, size - len, len);
  let at = -1;
  for (let i = len - EOCD_SIZE; i >= 0; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG && i + EOCD_SIZE + buf.readUInt16LE(i + 20) <= len) {
      at = i;
      break;
    }
  }
  if (at < 0) throw damaged("no end of central directory record (truncated?)");
  const eocd = size - len + at;
  const disk = buf.readUInt16LE(at + 4);
  const cdDisk = buf.readUInt16LE(at + 6);
  const onDisk = buf.readUInt16LE(at + 8);
  let entries = buf.readUInt16LE(at + 10);
  let cdSize = buf.readUInt32LE(at + 12);
  let cdOffset = buf.readUInt32LE(at + 16);
  let end = eocd;
  // the same test unzipper makes for zip64
  if (disk === 0xffff || entries === 0xffff || cdOffset === 0xffffffff) {
    if (eocd < 20) throw damaged("zip64 end record locator missing");
    const loc = await readAt(fh, eocd - 20, 20);
    if (loc.readUInt32LE(0) !== EOCD64_LOCATOR_SIG) throw damaged("zip64 end record locator missing");
    const at64 = Number(loc.readBigUInt64LE(8));
    if (at64 + 56 > eocd - 20) throw damaged("zip64 end record out of place");
    const rec = await readAt(fh, at64, 56);
    if (rec.readUInt32LE(0) !== EOCD64_SIG) throw damaged("zip64 end record missing");
    if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) throw new InvalidArchiveError("multi-part (spanned) ZIPs are not supported");
    if (rec.readBigUInt64LE(24) !== rec.readBigUInt64LE(32)) throw new InvalidArchiveError("multi-part (spanned) ZIPs are not supported");
    const big = rec.readBigUInt64LE(32);
    entries = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
    end = at64;
  } else if (disk !== 0 || cdDisk !== 0 || onDisk !== entries) {
    throw new InvalidArchiveError("multi-part (spanned) ZIPs are not supported");
  }
  if (cdOffset + cdSize > end) throw damaged("the central directory lies outside the file");
  return { end, tail: size - eocd, entries, cdSize, cdOffset };
}

/** Why an entry name is unsafe, or null. The archive is never extracted, but a name that could escape a folder marks a hostile file. */
export function unsafeNameReason(name: string): string | null {
  if (!name) return "has an empty name";
  if (name.includes("\0")) return "has a NUL byte in its name";
  if (name.includes("\\")) return "has a backslash in its name";
  if (name.startsWith("/")) return "is an absolute path";
  if (/^[A-Za-z]:/.test(name)) return "starts with a drive letter";
  if (name.split("/").includes("..")) return "has a '..' segment (zip slip)";
  return null;
}

function entryKind(file: ZipFileRecord, name: string): "file" | "directory" {
  const attrs = file.externalFileAttributes >>> 0;
  const type = (attrs >>> 16) & S_IFMT;
  if (type === S_IFLNK || attrs & DOS_REPARSE_POINT) throw new InvalidArchiveError(`ZIP entry "${name}" is a symbolic link; refused`);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw new InvalidArchiveError(`ZIP entry "${name}" is not a regular file (device, FIFO or socket); refused`);
  const dirByAttrs = type === S_IFDIR || (type === 0 && (attrs & DOS_DIRECTORY) !== 0);
  const dirByName = name.endsWith("/");
  if (dirByAttrs && !dirByName) throw new InvalidArchiveError(`ZIP entry "${name}" is marked as a directory but named like a file; refused`);
  if (dirByName) {
    if (file.uncompressedSize !== 0 || file.compressedSize !== 0) throw new InvalidArchiveError(`ZIP entry "${name}" is a directory with data; refused`);
    return "directory";
  }
  return "file";
}

/**
 * The checked directory of the ZIP at `path`. Refuses, naming the entry: too
 * many entries, unsafe names, symlinks and other non-regular entries,
 * duplicates, an unsupported method or encryption, a declared total above the
 * limit, and entries whose data overlap or disagree with their local header.
 */
export async function readZipDirectory(path: string, limits: ReadLimits): Promise<ZipDirectory> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const end = await readEndRecord(fh, size);
    if (end.entries > limits.maxEntries) throw new InvalidArchiveError(`the ZIP has ${end.entries} entries; at most ${limits.maxEntries} are allowed`);
    if (end.cdSize > limits.maxEntries * CENTRAL_BYTES_PER_ENTRY + 65536) throw new InvalidArchiveError(`the ZIP's central directory is ${end.cdSize} bytes; refused as implausibly large`);

    let dir: CentralDirectory;
    try {
      // tailSize: unzipper looks for the end record only in the last 80 bytes by default (so a ZIP comment breaks it); point it at the record we found
      const openFile = unzipper.Open.file as (path: string, options: { tailSize: number }) => Promise<CentralDirectory>;
      dir = await openFile(path, { tailSize: end.tail });
    } catch (e) {
      throw damaged(`cannot read the central directory (${(e as Error).message})`);
    }
    if (dir.files.length !== end.entries) throw damaged(`the central directory lists ${dir.files.length} entries, the end record ${end.entries}`);

    const entries: ZipEntry[] = [];
    const files = new Map<string, ZipEntry>();
    const seen = new Set<string>();
    let declared = 0;
    for (const file of dir.files) {
      if (file.signature !== CENTRAL_SIG) throw damaged("bad central directory entry signature");
      const name = file.path;
      const reason = unsafeNameReason(name);
      if (reason) throw new InvalidArchiveError(`ZIP entry ${JSON.stringify(name)} ${reason}; refused`);
      if (seen.has(name)) throw new InvalidArchiveError(`ZIP entry "${name}" appears more than once; refused`);
      seen.add(name);
      const kind = entryKind(file, name);
      if (file.flags & 0x41) throw new InvalidArchiveError(`ZIP entry "${name}" is encrypted; refused`);
      if (file.compressionMethod !== 0 && file.compressionMethod !== 8) {
        const m = METHOD_NAMES[file.compressionMethod];
        throw new InvalidArchiveError(`ZIP entry "${name}" uses compression method ${file.compressionMethod}${m ? ` (${m})` : ""}; only stored and deflate are supported`);
      }
      const { compressedSize, uncompressedSize, offsetToLocalFileHeader } = file;
      if (![compressedSize, uncompressedSize, offsetToLocalFileHeader].every((n) => Number.isSafeInteger(n) && n >= 0)) throw damaged(`entry "${name}" has unreadable sizes`);
      if (file.compressionMethod === 0 && compressedSize !== uncompressedSize) throw damaged(`stored entry "${name}" declares different compressed and uncompressed sizes`);
      declared += uncompressedSize;
      if (declared > limits.maxUncompressedBytes)
        throw new InvalidArchiveError(`the ZIP's members declare more than ${limits.maxUncompressedBytes} bytes uncompressed (the limit) by entry "${name}" (${uncompressedSize} bytes); refused as a possible zip bomb`);
      entries.push({
        name,
        method: file.compressionMethod,
        compressedSize,
        uncompressedSize,
        crc32: file.crc32 >>> 0,
        headerOffset: offsetToLocalFileHeader,
        dataStart: -1,
        directory: kind === "directory",
      });
      entries[entries.length - 1].dataStart = await checkLocalHeader(fh, file, end.cdOffset);
      if (kind === "file") files.set(name, entries[entries.length - 1]);
    }

    // members whose data overlap share bytes: the "better zip bomb" trick
    const byOffset = [...entries].sort((a, b) => a.headerOffset - b.headerOffset);
    for (let i = 1; i < byOffset.length; i++) {
      const prev = byOffset[i - 1];
      if (prev.dataStart + prev.compressedSize > byOffset[i].headerOffset) throw new InvalidArchiveError(`ZIP entries "${prev.name}" and "${byOffset[i].name}" overlap; refused as a possible zip bomb`);
    }
    return { entries, files };
  } finally {
    await fh.close();
  }
}

/** The local header must be where the directory says, name the same entry, use the same method; returns where the data starts. */
async function checkLocalHeader(fh: FileHandle, file: ZipFileRecord, cdOffset: number): Promise<number> {
  const at = file.offsetToLocalFileHeader;
  if (at + 30 > cdOffset) throw damaged(`entry "${file.path}" points outside the file's data`);
  const head = await readAt(fh, at, 30);
  if (head.readUInt32LE(0) !== LOCAL_SIG) throw damaged(`entry "${file.path}" has no local header where the directory says`);
  const method = head.readUInt16LE(8);
  const nameLength = head.readUInt16LE(26);
  const extraLength = head.readUInt16LE(28);
  const name = await readAt(fh, at + 30, nameLength);
  if (!name.equals(file.pathBuffer)) throw new InvalidArchiveError(`ZIP entry "${file.path}" has a different name (${JSON.stringify(name.toString("utf8"))}) in its local header; refused`);
  if (method !== file.compressionMethod) throw new InvalidArchiveError(`ZIP entry "${file.path}" has a different compression method in its local header; refused`);
  const dataStart = at + 30 + nameLength + extraLength;
  if (dataStart + file.compressedSize > cdOffset) throw damaged(`the data of entry "${file.path}" runs past the end of the members`);
  return dataStart;
}

/** Counts a member's decompressed bytes against its declared size and the limit, and checks its CRC at the end. */
class MemberCheck extends Transform {
  private bytes = 0;
  private crc = 0;
  constructor(
    private readonly entry: ZipEntry,
    private readonly max: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    const { name, uncompressedSize } = this.entry;
    if (this.bytes > uncompressedSize) {
      cb(new InvalidArchiveError(`ZIP entry "${name}" decompresses to more than the ${uncompressedSize} bytes it declares; refused as a possible zip bomb`));
      return;
    }
    if (this.bytes > this.max) {
      cb(new InvalidArchiveError(`ZIP entry "${name}" decompresses to more than ${this.max} bytes, the limit; refused as a possible zip bomb`));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const { name, uncompressedSize } = this.entry;
    if (this.bytes !== uncompressedSize) cb(damaged(`entry "${name}" has ${this.bytes} bytes, its header says ${uncompressedSize}`));
    else if (this.crc >>> 0 !== this.entry.crc32) cb(damaged(`entry "${name}" fails its CRC check`));
    else cb();
  }
}

/**
 * Bytes per read of an archive: each chunk costs a read, a CRC and an inflate
 * call on the main thread whatever its size (Node's default is 64 KiB), and
 * what is buffered counts against a 1M import's 300 MB: 1 MiB chunks were no
 * faster than these and held 5–8 MiB more (bench/README.md).
 */
export const READ_CHUNK = 256 * 1024;

/** The decompressed data of a regular member, checked as it streams. Destroying it closes the file. */
export function memberStream(path: string, entry: ZipEntry, limits: ReadLimits): Readable {
  const raw = entry.compressedSize === 0 ? Readable.from([]) : createReadStream(path, { start: entry.dataStart, end: entry.dataStart + entry.compressedSize - 1, highWaterMark: READ_CHUNK });
  const check = new MemberCheck(entry, limits.maxUncompressedBytes);
  if (entry.method === 0) return chain([raw, check]);
  const inflate = createInflateRaw();
  return chain([raw, inflate, check], new Map([[inflate, (e: Error) => damaged(`entry "${entry.name}" is not valid deflate data (${e.message})`)]]));
}
