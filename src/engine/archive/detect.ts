// Which archive a file is, from its first bytes (and, for ZIPs, its member names).

export type DetectedFormat = "ZIP" | "JSONL" | "OPENMEMORY";
export type Container = "zip" | "gzip" | "plain";

export const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
export const EMPTY_ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
export const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The container, from the first few bytes; null when it is none we read. */
export function detectContainer(head: Buffer): Container | null {
  if (head.subarray(0, 4).equals(ZIP_MAGIC) || head.subarray(0, 4).equals(EMPTY_ZIP_MAGIC)) return "zip";
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return "gzip";
  let text = head.subarray(head.subarray(0, 3).equals(BOM) ? 3 : 0).toString("utf8");
  text = text.replace(/^\s+/, "");
  return text.startsWith("{") ? "plain" : null;
}

/** A ZIP is native when it has a manifest, OpenMemory's when it has memories.json. */
export function zipFormat(memberNames: readonly string[]): DetectedFormat | null {
  if (memberNames.includes("manifest.json")) return "ZIP";
  if (memberNames.includes("memories.json")) return "OPENMEMORY";
  return null;
}
