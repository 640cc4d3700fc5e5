// An independent reader for the archives stowage writes: unzipper's central
// directory reader and node's gunzip, nothing of the exporter's own code.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import unzipper from "unzipper";

export interface Line {
  type: string;
  data: Record<string, unknown>;
}

export async function zipEntries(buf: Buffer): Promise<Map<string, Buffer>> {
  const dir = await unzipper.Open.buffer(buf);
  const out = new Map<string, Buffer>();
  for (const f of dir.files) out.set(f.path, await f.buffer());
  return out;
}

export function parseLines(text: string): Line[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);
}

export async function readNative(buf: Buffer) {
  const entries = await zipEntries(buf);
  const manifest = JSON.parse(entries.get("manifest.json")!.toString("utf8")) as {
    format: string;
    version: number;
    counts: Record<string, number>;
    files: { path: string; bytes: number; sha256: string; lines: number }[];
    exporter: { userId: string };
  };
  const gz = entries.get("records.jsonl.gz")!;
  const lines = parseLines(gunzipSync(gz).toString("utf8"));
  return { entries, manifest, gz, lines, sha256: createHash("sha256").update(gz).digest("hex") };
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
