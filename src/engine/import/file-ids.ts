// What an import plan knows of the file's ids, sized for a million records:
// which line holds each id (IdIndex), a few bytes per line (kind, state,
// action) and, for a record that moves, its new id as 16 bytes: no map of
// old → new id strings (about 200 bytes of heap each, and the collector's time
// walking them). A record that moves gets an id derived from its own (stable
// for re-imports, or salted per import for CREATE_NEW). Writers see it as an
// IdMapping.
import { randomUUID } from "node:crypto";
import { nameUuid } from "../ids.js";
import { KINDS, type KindDef, type KindName } from "../kinds/index.js";
import { IdIndex, uuidWords, wordsUuid } from "./id-index.js";

export const enum Action {
  None = 0,
  Create = 1,
  Remap = 2,
  Update = 3,
  Skip = 4,
}

// per-line state bits
export const INVALID = 1; // failed validation, or repeats an id: never decided, never written
export const DROPPED = 2; // will not exist after the import: what refers to it is skipped
const MOVED = 4; // it takes another id: in `targets` when that is a UUID (STORED), else in `explicit`
export const COUNTED = 8; // pass A counted it as a record
const STORED = 16;

/** The ids records will have after the import, for whoever writes them. */
export interface IdMapping {
  /** the id a reference to `id` (a record of one of `kinds`) takes after the import; undefined when it stays */
  mapRef(kinds: readonly KindName[], id: string): string | undefined;
  /** the same for an id found anywhere (prose, undeclared JSON), of whatever kind */
  mapAnyId(id: string): string | undefined;
  /** the id the record of a decided line (source id `id`) takes */
  targetOfLine(line: number, id: string): string;
  /** true when some id of the file moves: only then is prose worth searching for ids */
  readonly anyMoved: boolean;
  /**
   * What mapRef and mapAnyId met since the caller last emptied these: ids,
   * as written, of records of the file not decided yet (left as they are),
   * and the ids they put in place of others.
   */
  readonly undecided: string[];
  readonly substituted: string[];
  /** true when some id of the file names records of two kinds: a text holding it does not say which */
  readonly sharedIds: boolean;
}

// namespaces of the ids an import gives records it cannot keep the id of
const REMAP_NAMESPACE = "stowage:remap:";
const FRESH_NAMESPACE = "stowage:fresh:";

const KIND_INDEX = new Map<KindName, number>(KINDS.map((k, i) => [k.kind, i + 1]));

export interface Placeholder {
  kind: KindDef;
  sourceId: string;
  targetId: string;
}

const key = (kind: KindName, id: string) => `${kind}\u0000${id}`;

export class FileIds implements IdMapping {
  constructor(private readonly targetUserId: string) {}

  /** the file's ids: id → its line (the first kind to use an id; see `overflow`) */
  private lines = new IdIndex();
  /** `${kind}\0${id}` → line, for an id that a second kind of the file uses too */
  private overflow = new Map<string, number>();
  /** per line: its kind (index in KINDS + 1), its state bits, its Action; grown by room() */
  kindAt = new Uint8Array(1024);
  state = new Uint8Array(1024);
  actions = new Uint8Array(1024);
  /** per line: the target id of a record that moves, as four words (a UUID's) */
  private targets = new Uint32Array(4 * 1024);
  /** target ids that are no UUID in lowercase (a natural-key merge into such a record) */
  private explicit = new Map<number, string>();
  private readonly probe = new Uint32Array(4);

  /** stand-ins made for references nothing resolves, by kind and id, and by id when they moved */
  private placeholderFor = new Map<string, Placeholder>();
  private placeholderById = new Map<string, string>();
  private readonly salt = `${FRESH_NAMESPACE}${randomUUID()}:`;
  anyMoved = false;
  readonly undecided: string[] = [];
  readonly substituted: string[] = [];

  get sharedIds(): boolean {
    return this.overflow.size > 0;
  }

  room(line: number) {
    if (line < this.state.length) return;
    const size = Math.max(line + 1, this.state.length * 2);
    for (const name of ["kindAt", "state", "actions"] as const) {
      const grown = new Uint8Array(size);
      grown.set(this[name]);
      this[name] = grown;
    }
    const targets = new Uint32Array(4 * size);
    targets.set(this.targets);
    this.targets = targets;
  }

  setAction(line: number, a: Action) {
    this.actions[line] = a;
  }

  // ---------- the file's ids ----------

  fileLine(kinds: readonly KindName[], id: string): number | undefined {
    const l = this.lines.get(id);
    if (l === undefined) return undefined;
    const first = KINDS[this.kindAt[l] - 1].kind;
    if (!this.overflow.size) return kinds.includes(first) ? l : undefined;
    // kinds in the order given: the first that holds the id wins
    for (const k of kinds) {
      if (k === first) return l;
      const o = this.overflow.get(key(k, id));
      if (o !== undefined) return o;
    }
    return undefined;
  }

  register(kind: KindDef, id: string, line: number): number | undefined {
    const held = this.lines.getOrSet(id, line);
    if (held !== undefined) {
      if (KINDS[this.kindAt[held] - 1].kind === kind.kind) return held;
      // a second kind of the file uses the id too
      const first = this.overflow.get(key(kind.kind, id));
      if (first !== undefined) return first;
      this.overflow.set(key(kind.kind, id), line);
    }
    this.room(line);
    this.kindAt[line] = KIND_INDEX.get(kind.kind)!;
    return undefined;
  }

  targetOfLine(line: number, id: string): string {
    const s = this.state[line];
    if (!(s & MOVED)) return id;
    return s & STORED ? wordsUuid(this.targets, 4 * line) : this.explicit.get(line)!;
  }

  /** Records where the record of `line` (source id `id`) ends up. */
  moveTo(line: number, id: string, target: string) {
    if (target === id) return;
    this.anyMoved = true;
    this.state[line] |= MOVED;
    if (uuidWords(target, this.probe)) {
      this.targets.set(this.probe, 4 * line);
      this.state[line] |= STORED;
    } else this.explicit.set(line, target);
  }

  mapRef(kinds: readonly KindName[], id: string): string | undefined {
    const l = this.fileLine(kinds, id);
    if (l !== undefined) {
      if (!this.decided(l)) return void this.undecided.push(id);
      const t = this.targetOfLine(l, id);
      return t === id ? undefined : this.substitute(t);
    }
    const p = this.placeholderOf(kinds, id);
    return p && p.targetId !== id ? this.substitute(p.targetId) : undefined;
  }

  private substitute(target: string): string {
    this.substituted.push(target);
    return target;
  }

  mapAnyId(id: string): string | undefined {
    let found = id;
    let l = this.lines.get(found);
    if (l === undefined && id !== (found = id.toLowerCase())) l = this.lines.get(found);
    if (l !== undefined) {
      if (!this.decided(l)) return void this.undecided.push(id);
      const t = this.targetOfLine(l, found);
      return t === found ? undefined : this.substitute(t);
    }
    const p = this.placeholderById.get(found);
    return p === undefined ? undefined : this.substitute(p);
  }

  /** every decided line has an action: the action table doubles as the set of decided lines */
  decided(line: number): boolean {
    return this.actions[line] !== Action.None;
  }

  remapId(kind: KindName, sourceId: string): string {
    return nameUuid(REMAP_NAMESPACE, `${this.targetUserId}:${kind}:${sourceId}`);
  }

  freshId(kind: KindName, sourceId: string): string {
    return nameUuid(this.salt, `${kind}:${sourceId}`);
  }

  /** The placeholder made for a reference to `id` (of one of `kinds`), if any. */
  placeholderOf(kinds: readonly KindName[], id: string): Placeholder | undefined {
    if (!this.placeholderFor.size) return undefined;
    for (const k of kinds) {
      const p = this.placeholderFor.get(key(k, id));
      if (p) return p;
    }
    return undefined;
  }

  addPlaceholder(p: Placeholder): void {
    this.placeholderFor.set(key(p.kind.kind, p.sourceId), p);
    if (p.targetId !== p.sourceId) {
      this.anyMoved = true;
      this.placeholderById.set(p.sourceId, p.targetId);
    }
  }
}
