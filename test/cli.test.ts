import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { print } from "graphql";
import { graphql } from "./gql/index.js";
import { openDb } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { testDatabase, type TestDatabase } from "./support/database.js";
import { cliEnv, runCli, startServe, stop } from "./support/cli.js";
import { readNative, sha256 } from "./support/archive.js";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { until } from "./support/poll.js";
import { createUser } from "../src/auth/users.js";
import { seedDemo } from "../src/seed/index.js";
import { storedFilter } from "../src/jobs/export-jobs.js";

const ViewerQuery = graphql(`
  query CliViewer {
    viewer {
      id
      email
      role
    }
  }
`);

async function viewer(url: string, token: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(ViewerQuery) }),
  });
  return (await res.json()) as { data?: { viewer: { id: string; email: string; role: string } }; errors?: unknown[] };
}

let tdb: TestDatabase;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  tdb = testDatabase();
  env = cliEnv(tdb.database, tdb.dataDir, { PORT: "0", HOST: "127.0.0.1",  });
});
afterAll(() => tdb.drop());

describe("stowage serve", () => {
  it("migrates, creates an admin on first start, prints its token once, and answers viewer with it", async () => {
    const first = await startServe(env, /Its API token \(shown only now\):\s+(stw_\S+)[\s\S]*?Open (http:\/\/\S+\/graphql)/);
    const [, token, url] = first.match;
    try {
      const r = await viewer(url, token);
      expect(r.data?.viewer).toMatchObject({ email: "admin@stowage.local", role: "ADMIN" });
      const page = await fetch(url, { headers: { accept: "text/html" } });
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).toContain("GraphiQL");
      // offline: no assets from a CDN
      expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdn\./);
    } finally {
      await stop(first.child);
    }

    const second = await startServe(env, /GraphQL and GraphiQL at/);
    await new Promise((r) => setTimeout(r, 300));
    await stop(second.child);
    expect(second.output()).not.toContain("stw_");
  });
});

describe("stowage serve after a crash", () => {
  it("starts the export job the previous process left running over, and fails its import as interrupted", async () => {
    const handle = await openDb(tdb.database);
    let jobId: string;
    let importId: string;
    try {
      const owner = await handle.db.user.create({ data: { email: "crashed@example.com" } });
      const filter = storedFilter({ sections: ["MEMORIES"] }) as object;
      jobId = (await handle.db.exportJob.create({ data: { ownerId: owner.id, requestedById: owner.id, format: "ZIP", filter, status: "RUNNING", startedAt: new Date(), attempts: 1 } })).id;
      importId = (
        await handle.db.importRecord.create({
          data: { requestedById: owner.id, targetUserId: owner.id, filename: "a.zip", sha256: "x", byteSize: 1n, format: "ZIP", mode: "SKIP", options: {}, status: "RUNNING" },
        })
      ).id;
    } finally {
      await handle.close();
    }
    // the recovery runs beside the serving: its last line is the imports'
    const srv = await startServe(env, /imports left running by the previous run failed/);
    const watch = await openDb(tdb.database);
    try {
      await until(async () => (await watch.db.exportJob.findUniqueOrThrow({ where: { id: jobId } })).status === "SUCCEEDED", "the export job, run over");
    } finally {
      await watch.close();
      await stop(srv.child);
    }
    const after = await openDb(tdb.database);
    try {
      expect(await after.db.exportJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "SUCCEEDED", attempts: 2, error: null });
      expect(await after.db.importRecord.findUniqueOrThrow({ where: { id: importId } })).toMatchObject({ status: "FAILED", error: expect.stringMatching(/interrupted/) });
    } finally {
      await after.close();
    }
  });
});

describe.runIf(!process.env.DATABASE_URL?.startsWith("postgres"))("stowage serve while another process holds SQLite's write lock", () => {
  it("serves at once, and fails what the previous run left running once the lock is free", async () => {
    await migrate(tdb.database);
    const handle = await openDb(tdb.database);
    let importId: string;
    try {
      const owner = await handle.db.user.create({ data: { email: "locked-out@example.com" } });
      const data = { requestedById: owner.id, targetUserId: owner.id, filename: "a.zip", sha256: "x", byteSize: 1n, format: "ZIP", mode: "SKIP", options: {}, status: "RUNNING" } as const;
      importId = (await handle.db.importRecord.create({ data })).id;
    } finally {
      await handle.close();
    }
    // as an import from the CLI does for as long as it writes (minutes at a million records)
    if (tdb.database.provider !== "sqlite") throw new Error("SQLite only");
    const holder = new Database(tdb.database.file);
    holder.exec("BEGIN IMMEDIATE");
    let srv: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      // it waited for the lock before listening, and gave up (and exited) after 30 s
      srv = await startServe(env, /GraphQL and GraphiQL at (http:\/\/\S+)/);
      const page = await fetch(srv.match[1], { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(srv.output()).not.toMatch(/imports left running/);
      holder.exec("COMMIT");
      await until(async () => /imports left running by the previous run failed/.test(srv!.output()), "the recovery once the lock was free");
    } finally {
      if (holder.inTransaction) holder.exec("ROLLBACK");
      holder.close();
      if (srv) await stop(srv.child);
    }
    const after = await openDb(tdb.database);
    try {
      expect(await after.db.importRecord.findUniqueOrThrow({ where: { id: importId } })).toMatchObject({ status: "FAILED", error: expect.stringMatching(/interrupted/) });
    } finally {
      await after.close();
    }
  });
});

describe("stowage seed and export", () => {
  it("seeds demo data and exports it to a file with a one-line summary that matches the file", async () => {
    const seeded = await runCli(["seed", "--demo", "--user", "exporter@example.com", "--scale", "400", "--json"], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    const out = join(tdb.dataDir, "out.zip");
    const r = await runCli(["export", "--user", "exporter@example.com", "--out", out, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { file: string; records: number; bytes: number; sha256: string };
    const bytes = readFileSync(out);
    expect(summary).toMatchObject({ file: out, bytes: bytes.length, sha256: sha256(bytes) });
    const { manifest, lines } = await readNative(bytes);
    expect(lines.length - 1).toBe(summary.records);
    expect(manifest.counts.memory).toBeGreaterThan(0);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const bad = await runCli(["export", "--user", "exporter@example.com", "--from", "2025-02-01", "--to", "2025-01-01", "--out", out + "2"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("`to` is before `from`");
    expect(existsSync(out + "2")).toBe(false);
  });
});

describe("stowage import", () => {
  it("previews and imports with progress on stderr (a line every ~10% off a terminal), and the report on stdout", async () => {
    // more than a thousand records, so that a preview reports before its end
    await migrate(tdb.database);
    const handle = await openDb(tdb.database);
    try {
      const sender = await createUser(handle.db, { email: "sender@example.com" });
      await seedDemo(handle.db, { userId: sender.user.id, scale: 1500, seed: 3 });
      await createUser(handle.db, { email: "receiver@example.com" });
    } finally {
      await handle.close();
    }
    const out = join(tdb.dataDir, "sender.zip");
    expect((await runCli(["export", "--user", "sender@example.com", "--out", out], env)).code).toBe(0);
    const { lines } = await readNative(readFileSync(out));
    const records = lines.length - 1;
    const percents = (stderr: string, verb: string) =>
      stderr
        .split("\n")
        .flatMap((l) => (l.startsWith(verb) ? [l] : []))
        .map((l) => {
          const m = new RegExp(`^${verb} (\\d+)/${records} records \\((\\d+)%\\)$`).exec(l);
          if (!m) throw new Error(`not a progress line: ${l}`);
          return Number(m[2]);
        });

    const preview = await runCli(["import", out, "--user", "receiver@example.com", "--preview"], env);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`${records} records, exported by another user`);
    // the conflicts by kind, every record one, the biggest group first
    expect(preview.stdout).toContain(`\n${records} conflict(s):\n`);
    const memories = lines.flatMap((l, i) => (l.type === "memory" ? [i + 1] : []));
    expect(preview.stdout).toContain(`  ${memories.length} × memory ForeignRecordConflict → CREATE_NEW, lines ${memories.slice(0, 5).join(", ")}, …\n      e.g. line ${memories[0]}: exported by another user`);
    const tallies = [...preview.stdout.matchAll(/^ {2}(\d+) × /gm)].map((m) => Number(m[1]));
    expect(tallies.reduce((a, b) => a + b, 0)).toBe(records);
    expect(tallies).toEqual([...tallies].sort((a, b) => b - a));
    const previewed = percents(preview.stderr, "previewing");
    // reported every thousand records decided, and at the end
    expect(previewed.length).toBeGreaterThan(1);
    expect(previewed).toEqual([...previewed].sort((a, b) => a - b));
    expect(previewed.at(-1)).toBe(100);

    const imported = await runCli(["import", out, "--user", "receiver@example.com"], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(percents(imported.stderr, "importing").at(-1)).toBe(100);
    expect(imported.stdout).toMatch(/imported sender\.zip into receiver@example\.com in [\d.]+s/);
    expect(imported.stdout).toContain(`\n${records} conflict(s), resolved:\n`);
    expect(imported.stdout).toContain(`  ${memories.length} × memory ForeignRecordConflict → CREATE_NEW, lines ${memories.slice(0, 5).join(", ")}, …\n`);
  });

  it("names the malformed lines of a file it refuses, by fault", async () => {
    await migrate(tdb.database);
    const handle = await openDb(tdb.database);
    try {
      await createUser(handle.db, { email: "careful@example.com" });
    } finally {
      await handle.close();
    }
    const file = join(tdb.dataDir, "broken.jsonl");
    const memory = (i: number) => JSON.stringify({ type: "memory", data: { id: `m-${i}`, content: "x", state: "active" } });
    writeFileSync(file, [...Array.from({ length: 25 }, (_, i) => memory(i)), "{ nope", "[1"].join("\n") + "\n");
    const r = await runCli(["import", file, "--user", "careful@example.com"], env);
    expect(r.code).toBe(1);
    const lines = Array.from({ length: 20 }, (_, i) => i + 1).join(", ");
    expect(r.stderr).toContain("error: 27 malformed lines; the first is line 1 (memory): appId:");
    expect(r.stderr).toContain(`  25 × memory: appId: Invalid input: expected string, received undefined (lines ${lines}, …)`);
    expect(r.stderr).toContain("  2 × not valid JSON (lines 26, 27)");
    // a lenient preview tells the same, as what it skips
    const p = await runCli(["import", file, "--user", "careful@example.com", "--preview", "--lenient"], env);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain("27 malformed line(s), skipped:");
    expect(p.stdout).toContain("  2 × not valid JSON (lines 26, 27)");
  });
});

describe("stowage users", () => {
  it("creates a user and prints one JSON line with the token, which then works", async () => {
    const r = await runCli(["users", "create", "--email", "Grace@Example.com", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const created = JSON.parse(lines[0]) as { id: string; email: string; role: string; token: string };
    expect(Object.keys(created).sort()).toEqual(["email", "id", "role", "token"]);
    expect(created).toMatchObject({ email: "grace@example.com", role: "USER" });

    const srv = await startServe(env, /GraphQL and GraphiQL at (http:\/\/\S+)/);
    try {
      const v = await viewer(srv.match[1], created.token);
      expect(v.data?.viewer).toEqual({ id: created.id, email: "grace@example.com", role: "USER" });

      const dup = await runCli(["users", "create", "--email", "grace@example.com"], env);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain("already exists");

      const list = await runCli(["users", "list", "--json"], env);
      const rows = list.stdout.trim().split("\n").map((l) => JSON.parse(l) as { email: string; activeTokens: number });
      expect(rows.find((u) => u.email === "grace@example.com")?.activeTokens).toBe(1);
      // for people: a plain table, one user a line, the token count right-aligned under its heading
      const text = (await runCli(["users", "list"], env)).stdout.trimEnd().split("\n");
      expect(text[0]).toMatch(/^id {2,}email {2,}role {2,}created {2,}tokens$/);
      const grace = text.find((l) => l.includes("grace@example.com"))!;
      expect(grace).toMatch(new RegExp(`^${created.id} {2,}grace@example\\.com {2,}USER {2,}\\d{4}-\\d\\d-\\d\\dT\\S+Z {2,}1$`));
      expect(grace.length).toBe(text[0].length);

      const revoke = await runCli(["users", "revoke", "--email", "grace@example.com"], env);
      expect(revoke.stdout).toContain("revoked 1 token");
      const after = await viewer(srv.match[1], created.token);
      expect(after.errors).toBeDefined();
    } finally {
      await stop(srv.child);
    }
  });

  it("creates admins with --admin", async () => {
    const r = await runCli(["users", "create", "--email", "root@example.com", "--admin", "--json"], env);
    expect(JSON.parse(r.stdout).role).toBe("ADMIN");
  });

  it("rejects invalid configuration with a clear message", async () => {
    const r = await runCli(["migrate"], { ...env, PORT: "not-a-port" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("PORT");
  });
});
