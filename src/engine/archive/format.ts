// Archive format v1: the names and numbers a reader and a writer must share.
export const FORMAT_NAME = "stowage-backup";
export const FORMAT_VERSION = 1;
export const SUPPORTED_VERSIONS = ["1"];
export const MANIFEST_PATH = "manifest.json";
export const RECORDS_PATH = "records.jsonl.gz";
export const GENERATOR = "stowage 0.1.0";

/** Lines are collected into chunks this big before compression: one small write per record is ~18× slower. */
export const CHUNK_BYTES = 64 * 1024;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
  lines: number;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  generatedAt: string;
  generator: string;
  exporter: { userId: string; externalId: string | null };
  filter: Record<string, unknown>;
  counts: Record<string, number>;
  files: ManifestFile[];
}

export interface MetadataLine {
  exporterUserId: string;
  exportVersion: string;
  exportedAt: string;
  format: typeof FORMAT_NAME;
  version: number;
  generator: string;
  filter: Record<string, unknown>;
}
