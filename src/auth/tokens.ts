import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// A token reads `stw_<prefix>_<secret>`: the prefix finds the row, the secret
// is checked against its stored sha256 in constant time.
const PATTERN = /^stw_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  token: string;
  prefix: string;
  hash: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function newToken(): NewToken {
  const prefix = randomBytes(9).toString("base64").replace(/[^A-Za-z0-9]/g, "").padEnd(12, "0").slice(0, 12);
  const secret = randomBytes(32).toString("base64url");
  return { token: `stw_${prefix}_${secret}`, prefix, hash: hashSecret(secret) };
}

export function parseToken(token: string): { prefix: string; secret: string } | null {
  const m = PATTERN.exec(token.trim());
  return m ? { prefix: m[1], secret: m[2] } : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}
