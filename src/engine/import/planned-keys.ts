// The natural keys records planned earlier in the file will hold, and by whom:
// one entry per record of a kind with a natural key — 216k memory–category
// links in the 1M benchmark archive. A key of ids (memoryId + categoryId) and
// the id it maps to are kept as their bytes in short flat one-byte strings,
// under half the heap of their text (and so of what the collector walks).
import { KINDS, type KindName } from "../kinds/index.js";
import { uuidWords, wordsUuid } from "./id-index.js";

const KIND_CODE = new Map<KindName, number>(KINDS.map((k, i) => [k.kind, i + 2]));
const words = new Uint32Array(4);
const codes: number[] = [];

/** Adds a lowercase UUID's 16 bytes to `codes`; false when `id` is none. */
function pushBytes(id: unknown): boolean {
  if (typeof id !== "string" || !uuidWords(id, words)) return false;
  for (let i = 0; i < 4; i++) {
    const w = words[i];
    codes.push(w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
  }
  return true;
}

// the first character says how the rest is written: ids as bytes, or text as it is
const BYTES = 1;
const TEXT = "\u0000";

/** One flat string of the codes (a concatenation would keep a rope of its parts besides). */
const flat = () => String.fromCharCode(...codes);

export class PlannedKeys {
  private map = new Map<string, string>();

  private key(kind: KindName, values: readonly unknown[]): string {
    codes.length = 0;
    codes.push(BYTES, KIND_CODE.get(kind)!);
    for (const v of values) if (!pushBytes(v)) return `${TEXT}${kind}\u0000${JSON.stringify(values)}`;
    return flat();
  }

  get(kind: KindName, values: readonly unknown[]): string | undefined {
    const v = this.map.get(this.key(kind, values));
    if (v === undefined || v[0] === TEXT) return v?.slice(1);
    for (let i = 0; i < 4; i++) words[i] = ((v.charCodeAt(1 + 4 * i) << 24) | (v.charCodeAt(2 + 4 * i) << 16) | (v.charCodeAt(3 + 4 * i) << 8) | v.charCodeAt(4 + 4 * i)) >>> 0;
    return wordsUuid(words, 0);
  }

  has(kind: KindName, values: readonly unknown[]): boolean {
    return this.map.has(this.key(kind, values));
  }

  set(kind: KindName, values: readonly unknown[], holder: string): void {
    const key = this.key(kind, values);
    codes.length = 0;
    codes.push(BYTES);
    this.map.set(key, pushBytes(holder) ? flat() : TEXT + holder);
  }
}
