// id → line for every record of a file, sized for millions: ids in UUID form
// (lowercase, as stowage, OpenMemory and FOVEA write them) are kept as four
// 32-bit words in typed arrays, outside the garbage-collected heap; any other
// id, spelled any other way, in a Map. A string key per record would cost
// about 90 bytes of heap each, and the collector its time walking them.
const EMPTY = 0;

/** The four words of a lowercase UUID (8-4-4-4-12 hex), or false. */
export function uuidWords(id: string, out: Uint32Array): boolean {
  if (id.length !== 36) return false;
  let w = 0;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else return false;
    w = ((w << 4) | v) >>> 0;
    if (++digits === 8) {
      out[word++] = w;
      w = 0;
      digits = 0;
    }
  }
  return true;
}

const HEX_DIGITS = Buffer.from("0123456789abcdef");
/** where each of the 32 hex digits goes in the 36 characters */
const DIGIT_AT = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35];
const text = Buffer.from("00000000-0000-0000-0000-000000000000");

/** The lowercase UUID of four words (what uuidWords read); about 7 times faster than toString(16) and template strings. */
export function wordsUuid(words: Uint32Array, at: number): string {
  let p = 0;
  for (let i = 0; i < 4; i++) {
    const w = words[at + i];
    for (let shift = 28; shift >= 0; shift -= 4) text[DIGIT_AT[p++]] = HEX_DIGITS[(w >>> shift) & 15];
  }
  return text.toString("latin1", 0, 36);
}

/**
 * id → a line of the file (a small integer, one per id): the hash table holds
 * the line alone, and each line's id is kept by the line, as its four words —
 * about 25 bytes an id at a million instead of 40.
 */
export class IdIndex {
  /** line + 1 per slot; 0 is an empty slot */
  private slots: Int32Array;
  /** the four words of the id on each line */
  private keys: Uint32Array;
  private mask: number;
  private used = 0;
  private others = new Map<string, number>();
  private readonly probe = new Uint32Array(4);

  constructor(capacity = 1024) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.slots = new Int32Array(slots);
    this.keys = new Uint32Array(4 * capacity);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.used + this.others.size;
  }

  get(id: string): number | undefined {
    const k = this.probe;
    if (!uuidWords(id, k)) return this.others.get(id);
    const v = this.slots[this.find(k[0], k[1], k[2], k[3])];
    return v === EMPTY ? undefined : v - 1;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Sets the line of an id (replacing the one it had). A line holds one id: no other id may be set to it. */
  set(id: string, line: number): void {
    const k = this.probe;
    if (!uuidWords(id, k)) {
      this.others.set(id, line);
      return;
    }
    this.put(this.find(k[0], k[1], k[2], k[3]), line);
  }

  /** The line an id has, or (when it has none) undefined once it is set to `line`: one look-up for both. */
  getOrSet(id: string, line: number): number | undefined {
    const k = this.probe;
    if (!uuidWords(id, k)) {
      const had = this.others.get(id);
      if (had === undefined) this.others.set(id, line);
      return had;
    }
    const slot = this.find(k[0], k[1], k[2], k[3]);
    const v = this.slots[slot];
    if (v !== EMPTY) return v - 1;
    this.put(slot, line);
    return undefined;
  }

  /** Points the slot (found for the words in `probe`) at `line`, which takes those words. */
  private put(slot: number, line: number): void {
    if (this.slots[slot] === EMPTY) this.used++;
    if (4 * line + 4 > this.keys.length) {
      const keys = new Uint32Array(Math.max(4 * line + 4, 2 * this.keys.length));
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys.set(this.probe, 4 * line);
    this.slots[slot] = line + 1;
    if (this.used * 10 > (this.mask + 1) * 7) this.grow();
  }

  /** The slot holding these words, or the empty slot where they would go (linear probing). */
  private find(a: number, b: number, c: number, d: number): number {
    const { keys, slots } = this;
    let slot = (Math.imul(a ^ d, 0x9e3779b1) ^ Math.imul(b ^ c, 0x85ebca6b)) & this.mask;
    for (;;) {
      const v = slots[slot];
      if (v === EMPTY) return slot;
      const o = 4 * (v - 1);
      if (keys[o] === a && keys[o + 1] === b && keys[o + 2] === c && keys[o + 3] === d) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const keys = this.keys;
    this.slots = new Int32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const v of old) {
      if (v === EMPTY) continue;
      const o = 4 * (v - 1);
      this.slots[this.find(keys[o], keys[o + 1], keys[o + 2], keys[o + 3])] = v;
    }
  }
}
