import { resolve } from "node:path";
import { z } from "zod";

const bytes = z.coerce.number().int().positive();

export const DEFAULT_IMPORT_WORKER_MIN_BYTES = 8 * 1024 ** 2;

const envSchema = z.object({
  DATA_DIR: z.string().default("./data"),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => !v || /^(file:|postgres(ql)?:\/\/)/.test(v), "DATABASE_URL must start with file: or postgres(ql)://"),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  PUBLIC_URL: z.string().url().optional(),
  // HMAC key for download links; generated once into DATA_DIR when unset
  DOWNLOAD_SECRET: z.string().min(32).optional(),
  DOWNLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(7 * 24 * 3600),
  MAX_UPLOAD_BYTES: bytes.default(1024 ** 3),
  // JSON and GraphQL bodies other than uploads: generous for big queries, far from a file's size
  MAX_JSON_BODY_BYTES: bytes.default(2 * 1024 ** 2),
  STAGED_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  EXPORT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  // after an export or a big import, one worker process is started and kept ready this long for the next (0: none)
  SPARE_WORKER_SECONDS: z.coerce.number().int().min(0).default(600),
  // archives from this size on are previewed and imported in a worker process (0: all); smaller ones here, where starting one costs more than it saves
  IMPORT_WORKER_MIN_BYTES: z.coerce.number().int().min(0).default(DEFAULT_IMPORT_WORKER_MIN_BYTES),
});

export type Database =
  | { provider: "sqlite"; file: string }
  | { provider: "postgresql"; url: string; schema: string };

export interface Config {
  dataDir: string;
  database: Database;
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  publicUrl?: string;
  downloadSecret?: string;
  downloadTtlSeconds: number;
  maxUploadBytes: number;
  maxJsonBodyBytes: number;
  stagedUploadTtlSeconds: number;
  exportConcurrency: number;
  /** how long a spare worker process (exports, big imports) waits for the next job (0: no spare) */
  spareWorkerSeconds: number;
  /** archives of at least this many bytes are previewed and imported in a worker process */
  importWorkerMinBytes: number;
}

export function databaseFromUrl(url: string | undefined, dataDir: string): Database {
  if (!url) return { provider: "sqlite", file: resolve(dataDir, "stowage.db") };
  if (url.startsWith("file:")) return { provider: "sqlite", file: resolve(url.slice("file:".length)) };
  const schema = new URL(url).searchParams.get("schema") ?? "public";
  return { provider: "postgresql", url, schema };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  return {
    dataDir,
    database: databaseFromUrl(e.DATABASE_URL, dataDir),
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL,
    downloadSecret: e.DOWNLOAD_SECRET,
    downloadTtlSeconds: e.DOWNLOAD_TTL_SECONDS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxJsonBodyBytes: e.MAX_JSON_BODY_BYTES,
    stagedUploadTtlSeconds: e.STAGED_UPLOAD_TTL_SECONDS,
    exportConcurrency: e.EXPORT_CONCURRENCY,
    spareWorkerSeconds: e.SPARE_WORKER_SECONDS,
    importWorkerMinBytes: e.IMPORT_WORKER_MIN_BYTES,
  };
}
