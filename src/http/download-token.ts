import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.js";

// Download links: `<payload>.<mac>`, both base64url. The payload is the JSON
// `{"j": jobId, "u": userId, "e": expiry in unix seconds}`; the MAC is
// HMAC-SHA256 over the payload's base64url text, so what is verified is
// exactly the bytes that were signed (no re-serialisation).

export interface DownloadPayload {
  jobId: string;
  userId: string;
  /** unix seconds */
  expiresAt: number;
}

export type DownloadTokenFailure = "malformed" | "bad-signature" | "expired";

export type VerifyResult = { ok: true; payload: DownloadPayload } | { ok: false; reason: DownloadTokenFailure };

const B64URL = /^[A-Za-z0-9_-]+$/;
const MAC_BYTES = 32;

function mac(secret: Buffer, payloadB64: string): Buffer {
  return createHmac("sha256", secret).update(payloadB64, "ascii").digest();
}

export function signDownload(
  secret: Buffer,
  { jobId, userId, ttlSeconds, now = new Date() }: { jobId: string; userId: string; ttlSeconds: number; now?: Date },
): string {
  if (!jobId || !userId) throw new Error("a download token needs a job id and a user id");
  if (!(ttlSeconds > 0)) throw new Error("ttlSeconds must be positive");
  const e = Math.floor(now.getTime() / 1000) + Math.floor(ttlSeconds);
  const payload = Buffer.from(JSON.stringify({ j: jobId, u: userId, e }), "utf8").toString("base64url");
  return `${payload}.${mac(secret, payload).toString("base64url")}`;
}

/**
 * Checks shape, then signature (constant time), then expiry. A token whose
 * signature does not verify is never parsed further.
 */
export function verifyDownload(secret: Buffer, token: string, now: Date = new Date()): VerifyResult {
  if (typeof token !== "string" || token.length > 4096) return { ok: false, reason: "malformed" };
  const parts = token.split(".");
  if (parts.length !== 2 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) return { ok: false, reason: "malformed" };
  const [payloadB64, sigB64] = parts;
  const given = Buffer.from(sigB64, "base64url");
  const expected = mac(secret, payloadB64);
  // length is public (always 32 for a real token); timingSafeEqual needs equal lengths
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad-signature" };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payloadB64, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const p = raw as { j?: unknown; u?: unknown; e?: unknown };
  if (
    !p ||
    typeof p !== "object" ||
    typeof p.j !== "string" ||
    !p.j ||
    typeof p.u !== "string" ||
    !p.u ||
    typeof p.e !== "number" ||
    !Number.isSafeInteger(p.e)
  ) {
    return { ok: false, reason: "malformed" };
  }
  if (p.e <= Math.floor(now.getTime() / 1000)) return { ok: false, reason: "expired" };
  return { ok: true, payload: { jobId: p.j, userId: p.u, expiresAt: p.e } };
}

export const DOWNLOAD_SECRET_FILE = "download-secret";

/**
 * The HMAC key of download links: `config.downloadSecret` when set, else the
 * contents of `<dataDir>/download-secret`, generated on first use (32 random
 * bytes as base64url text, mode 0600) and reused on later starts, so links
 * survive restarts. Either way the key is the UTF-8 bytes of the trimmed text:
 * copying the file's contents into DOWNLOAD_SECRET keeps existing links valid.
 *
 * Creation is race-free between processes: the secret is written to a private
 * temporary file, fsynced, then hard-linked into place (link fails if another
 * process won), so nobody ever reads a half-written secret.
 */
export function loadDownloadSecret(config: Pick<Config, "dataDir" | "downloadSecret">): Buffer {
  if (config.downloadSecret) return Buffer.from(config.downloadSecret, "utf8");
  const path = join(config.dataDir, DOWNLOAD_SECRET_FILE);
  const existing = readSecretFile(path);
  if (existing) return existing;

  mkdirSync(config.dataDir, { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString("base64url")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600); // the umask may have narrowed it further, never widened it; be exact
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(tmp);
  }
  const secret = readSecretFile(path);
  if (!secret) throw new Error(`could not create the download secret at ${path}`);
  return secret;
}

function readSecretFile(path: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  if (text.length < 32) throw new Error(`${path} holds no usable download secret (fewer than 32 characters); delete it to generate a new one`);
  return Buffer.from(text, "utf8");
}
