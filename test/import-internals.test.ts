// The import's own parts: the id index and natural keys a million-record plan keeps, and the
// SQLite write gate that keeps the server's own writes from stopping the
// process while an import holds the database.
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import Sqlite from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { databaseFromUrl } from "../src/config.js";
import { openDb } from "../src/db/client.js";
import { withDriverTransaction } from "../src/db/driver-tx.js";
import { idleSqliteThread } from "../src/db/sqlite-thread.js";
import { migrate } from "../src/db/migrate.js";
import { nameUuid } from "../src/engine/ids.js";
import { GROUP_LINES, InvalidArchiveError, MAX_GROUPS, OTHER_PROBLEMS, ProblemGroups } from "../src/engine/errors.js";
import { IdIndex, uuidWords, wordsUuid } from "../src/engine/import/id-index.js";
import { PlannedKeys } from "../src/engine/import/planned-keys.js";
import type { KindName } from "../src/engine/kinds/index.js";
import { tuneHeap } from "../src/heap.js";

describe("ProblemGroups", () => {
  it("counts every line, lists a group's first lines, and folds faults past the last group into one", () => {
    const g = new ProblemGroups();
    // a fault of 30 lines, then one line each of MAX_GROUPS + 5 other faults
    for (let line = 1; line <= 30; line++) g.add({ line, kind: "memory", message: `content of line ${line}: too long`, group: "content: too long" });
    for (let i = 0; i < MAX_GROUPS + 5; i++) g.add({ line: 100 + i, kind: "app", message: `fault ${i}` });
    expect(g.total).toBe(30 + MAX_GROUPS + 5);
    const list = g.list();
    expect(list).toHaveLength(MAX_GROUPS);
    expect(list[0]).toEqual({ kind: "memory", message: "content: too long", count: 30, lines: Array.from({ length: GROUP_LINES }, (_, i) => i + 1) });
    // 48 faults of their own, then the 7 that came after them
    expect(list.at(-1)).toEqual({ kind: null, message: OTHER_PROBLEMS, count: 7, lines: [148, 149, 150, 151, 152, 153, 154] });
    expect(list.slice(1, -1).map((x) => x.message)).toEqual(Array.from({ length: MAX_GROUPS - 2 }, (_, i) => `fault ${i}`));
    // an error made from the listed problems alone groups them the same way
    expect(new InvalidArchiveError("x", 1, [{ line: 1, kind: null, message: "a" }, { line: 2, kind: null, message: "a" }]).problemGroups).toEqual([{ kind: null, message: "a", count: 2, lines: [1, 2] }]);
  });
});

describe("IdIndex", () => {
  it("answers like a Map for any ids, UUIDs or not, across growth", () => {
    const id = fc.oneof(
      fc.uuid(),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.string({ maxLength: 40 }),
      fc.constantFrom("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "0000000g-0000-0000-0000-000000000000"),
    );
    fc.assert(
      // lines as the planner gives them: each set to one id (an id may move to a later line)
      // (set), or kept where it is when it has one (getOrSet, as pass A registers ids)
      fc.property(fc.array(fc.tuple(id, fc.nat(30), fc.boolean()), { maxLength: 3000 }), fc.array(id, { maxLength: 200 }), (sets, probes) => {
        const index = new IdIndex(16);
        const map = new Map<string, number>();
        let line = 0;
        for (const [k, gap, keep] of sets) {
          line += 1 + gap;
          if (keep) {
            expect(index.getOrSet(k, line)).toBe(map.get(k));
            if (!map.has(k)) map.set(k, line);
          } else {
            index.set(k, line);
            map.set(k, line);
          }
        }
        expect(index.size).toBe(map.size);
        for (const k of [...map.keys(), ...probes]) expect(index.get(k)).toBe(map.get(k));
      }),
      { numRuns: 60 },
    );
  });
});

describe("a UUID as four words", () => {
  it("reads every lowercase UUID back as it was, and nothing else", () => {
    const words = new Uint32Array(8);
    fc.assert(
      fc.property(fc.uuid(), fc.nat(1), (u, slot) => {
        expect(uuidWords(u, words.subarray(4 * slot))).toBe(true);
        expect(wordsUuid(words, 4 * slot)).toBe(u);
      }),
    );
    for (const other of ["", "A0000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000", "00000000_0000-0000-0000-000000000000"])
      expect(uuidWords(other, words)).toBe(false);
  });
});

describe("nameUuid", () => {
  it("is RFC 4122's version 5 UUID: the same as Python's uuid5 for a namespace UUID and a name", () => {
    const dns = Buffer.from("6ba7b8109dad11d180b400c04fd430c8", "hex");
    expect(nameUuid(dns, "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
    expect(nameUuid(dns, "python.org")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
  });

  it("gives a text namespace the same id as its bytes, and a well-formed v5 UUID for any name", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (ns, name) => {
        const id = nameUuid(ns, name);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(nameUuid(Buffer.from(ns), name)).toBe(id);
      }),
    );
  });
});

describe("HEAP_GROWING_PERCENT", () => {
  it("takes 0–300 and refuses anything else", () => {
    expect(tuneHeap({ HEAP_GROWING_PERCENT: "0" })).toBe(0);
    expect(tuneHeap({ HEAP_GROWING_PERCENT: "50" })).toBe(50);
    expect(() => tuneHeap({ HEAP_GROWING_PERCENT: "lots" })).toThrow(/HEAP_GROWING_PERCENT/);
    expect(() => tuneHeap({ HEAP_GROWING_PERCENT: "-1" })).toThrow(/HEAP_GROWING_PERCENT/);
  });
});

// SQLite only, whatever DATABASE_URL says: the gate exists for SQLite's one writer
describe("SQLite write gate", () => {
  const dir = mkdtempSync(join(tmpdir(), "stowage-gate-"));
  const database = databaseFromUrl(undefined, dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a write of the process waits for an import's transaction without stopping the event loop, then lands", async () => {
    await migrate(database);
    const handle = await openDb(database);
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let began!: () => void;
      const begun = new Promise<void>((r) => (began = r));
      const importing = withDriverTransaction(database, async (tx) => {
        await tx.queue(`INSERT INTO "User" ("id", "email", "role", "createdAt", "updatedAt") VALUES (?, ?, 'USER', ?, ?)`, ["u-import", "import@example.com", "2026-01-01T00:00:00.000+00:00", "2026-01-01T00:00:00.000+00:00"]);
        began();
        await held;
      });
      await begun;
      let written = false;
      const write = handle.db.user.create({ data: { email: "server@example.com" } }).then(() => (written = true));
      // the loop turns (a synchronous busy wait would stop it here for 30 s) and the write waits
      for (let i = 0; i < 20; i++) await turn();
      expect(written).toBe(false);
      // reads go on meanwhile (WAL): the import's row is not committed yet
      expect(await handle.db.user.count({ where: { email: "import@example.com" } })).toBe(0);
      release();
      await importing;
      await write;
      expect(await handle.db.user.count({ where: { email: { in: ["import@example.com", "server@example.com"] } } })).toBe(2);
    } finally {
      await handle.close();
    }
  });
});

// SQLite only: PostgreSQL's connections are the pool's
describe("the SQLite thread an import writes through", () => {
  const dir = mkdtempSync(join(tmpdir(), "stowage-thread-"));
  const database = databaseFromUrl(undefined, dir);
  const other = databaseFromUrl(undefined, join(dir, "other"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = database.provider === "sqlite" ? database.file : "";
  const insertUser = (email: string) =>
    withDriverTransaction(database, async (tx) => {
      await tx.queue(`INSERT INTO "User" ("id", "email", "role", "createdAt", "updatedAt") VALUES (?, ?, 'USER', ?, ?)`, [email, email, "2026-01-01T00:00:00.000+00:00", "2026-01-01T00:00:00.000+00:00"]);
    });
  const emails = () => {
    const conn = new Sqlite(file, { readonly: true });
    try {
      return (conn.prepare(`SELECT "email" FROM "User" ORDER BY "email"`).all() as { email: string }[]).map((r) => r.email);
    } finally {
      conn.close();
    }
  };

  it("is kept for the next transaction once one commits; never after a failure, for another file, or for a file replaced since", async () => {
    await migrate(database);
    await migrate(other);
    await insertUser("a@example.com");
    const first = idleSqliteThread();
    expect(first).toEqual({ file, threadId: expect.any(Number) });
    await insertUser("b@example.com");
    expect(idleSqliteThread()).toEqual(first);

    // a transaction that fails: its thread goes with it
    await expect(insertUser("a@example.com")).rejects.toThrow(/UNIQUE/);
    expect(idleSqliteThread()).toBeNull();
    await insertUser("c@example.com");
    const second = idleSqliteThread()!;
    expect(second.threadId).not.toBe(first!.threadId);

    // another database: a thread of its own (and the one kept is let go)
    await withDriverTransaction(other, async () => {});
    expect(idleSqliteThread()).toMatchObject({ file: other.provider === "sqlite" ? other.file : "" });
    await insertUser("d@example.com");
    const third = idleSqliteThread()!;

    // the file replaced by another database (a restore, say): the kept connection still has the old one open
    const fresh = databaseFromUrl(undefined, join(dir, "fresh"));
    await migrate(fresh);
    for (const s of ["-wal", "-shm"]) rmSync(file + s, { force: true });
    renameSync(fresh.provider === "sqlite" ? fresh.file : "", file);
    await insertUser("e@example.com");
    expect(emails()).toEqual(["e@example.com"]);
    expect(idleSqliteThread()!.threadId).not.toBe(third.threadId);
  });
});

// on the test run's database (on SQLite a file only migrated: no client of the server's has
// made it WAL, which the transaction's second, reading connection needs)
describe("a driver transaction after a promise", () => {
  const dir = mkdtempSync(join(tmpdir(), "stowage-after-"));
  const database = databaseFromUrl(process.env.DATABASE_URL, dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("begins once the promise resolves, with its value; begins nothing, and waits for no lock, when it rejects", async () => {
    await migrate(database);
    let resolve!: (v: string) => void;
    const scanned = new Promise<string>((r) => (resolve = r));
    let ran: string | undefined;
    const tx = withDriverTransaction(database, async (_tx, before) => void (ran = before), scanned);
    for (let i = 0; i < 20; i++) await turn();
    expect(ran).toBeUndefined();
    resolve("scanned");
    await tx;
    expect(ran).toBe("scanned");

    // another transaction holds the database: a rejected scan fails at once, not once the lock is free
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let began!: () => void;
    const begun = new Promise<void>((r) => (began = r));
    const holding = withDriverTransaction(database, async () => {
      began();
      await held;
    });
    await begun;
    let called = false;
    const refused = withDriverTransaction(database, async () => void (called = true), Promise.reject(new InvalidArchiveError("line 2: bad")));
    await expect(refused).rejects.toThrow("line 2: bad");
    expect(called).toBe(false);
    release();
    await holding;
  });
});

describe("PlannedKeys", () => {
  it("answers like a Map of the keys' JSON text, for ids and any other values", () => {
    const value = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null));
    const kind = fc.constantFrom<KindName>("memoryCategory", "videoSummary", "ontology", "app");
    fc.assert(
      fc.property(fc.array(fc.tuple(kind, fc.array(value, { minLength: 1, maxLength: 2 }), fc.oneof(fc.uuid(), fc.string())), { maxLength: 300 }), (entries) => {
        const keys = new PlannedKeys();
        const map = new Map<string, string>();
        for (const [k, values, holder] of entries) {
          keys.set(k, values, holder);
          map.set(`${k}\u0000${JSON.stringify(values)}`, holder);
        }
        for (const [k, values] of entries) {
          expect(keys.get(k, values)).toBe(map.get(`${k}\u0000${JSON.stringify(values)}`));
          expect(keys.has(k, values)).toBe(true);
        }
        expect(keys.get("memoryCategory", ["never", "planned"])).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });
});
