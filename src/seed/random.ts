// Small deterministic random sources for the demo seed: no clock, no
// crypto.randomUUID, so the same seed gives the same data (ids included).

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers with good avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Four 32-bit words from a string (cyrb128). */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** sfc32: a fast 128-bit-state generator; good enough for test data, not for secrets. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    [this.a, this.b, this.c, this.d] = hash128(seed);
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  float(min: number, max: number, digits = 3): number {
    const f = 10 ** digits;
    return Math.round((min + this.next() * (max - min)) * f) / f;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** one of the keys, with probability proportional to its weight */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries[entries.length - 1][0];
  }

  /** k distinct items (fewer if there are not enough), in random order */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, n);
  }
}

const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Deterministic UUIDs (version 4 layout) addressed by kind and index, so a
 * record's id can be computed wherever it is referenced without keeping a
 * list of ids. Within one namespace and kind, distinct indexes (< 2^32) give
 * distinct ids: the first word is a bijection of the index.
 */
export class IdSpace {
  private readonly base: [number, number, number, number];
  private readonly kinds = new Map<string, [number, number, number, number]>();

  constructor(namespace: string) {
    this.base = hash128(`stowage-seed-ids:${namespace}`);
  }

  id(kind: string, index: number): string {
    let k = this.kinds.get(kind);
    if (!k) {
      const h = hash128(kind);
      k = [h[0] ^ this.base[0], h[1] ^ this.base[1], h[2] ^ this.base[2], h[3] ^ this.base[3]];
      this.kinds.set(kind, k);
    }
    const i = index >>> 0;
    const w0 = fmix32((k[0] ^ fmix32(i)) >>> 0);
    const w1 = fmix32((k[1] ^ fmix32((i + 0x9e3779b9) >>> 0)) >>> 0);
    const w2 = fmix32((k[2] ^ fmix32((i + 0x3c6ef372) >>> 0) ^ w0) >>> 0);
    const w3 = fmix32((k[3] ^ fmix32((i + 0xdaa66d2b) >>> 0) ^ w1) >>> 0);
    const b = hex(w1);
    const c = hex(w2);
    return `${hex(w0)}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${((parseInt(c[0], 16) & 0x3) | 0x8).toString(16)}${c.slice(1, 4)}-${c.slice(4, 8)}${hex(w3)}`;
  }
}
