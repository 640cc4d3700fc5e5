import { createHash, hash } from "node:crypto";

/**
 * A name-based UUID (RFC 4122 version 5 layout: SHA-1 of a namespace and a
 * name): the same name always gives the same id, which keeps re-imports
 * idempotent wherever an id has to be made up.
 */
export function nameUuid(namespace: Buffer | string, name: string): string {
  // the one-shot hash of the same bytes: an import derives a few ids per record
  const h = typeof namespace === "string" ? hash("sha1", namespace + name, "buffer") : createHash("sha1").update(namespace).update(name, "utf8").digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
