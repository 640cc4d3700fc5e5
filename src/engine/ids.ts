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
  let p = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) p++;
    text[p++] = HEX[h[i] >> 4];
    text[p++] = HEX[h[i] & 15];
  }
  return text.toString("latin1");
}

const HEX = Buffer.from("0123456789abcdef");
// the dashes stay where they are; the digits are written over for each id
const text = Buffer.from("00000000-0000-0000-0000-000000000000");
