import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, UploadTooLargeError, ValidationError } from "../src/engine/errors.js";
import { resolveUpload, stageUpload } from "../src/engine/uploads.js";
import { seedDemo } from "../src/seed/index.js";
import { graphql } from "./gql/index.js";
import type { StageUploadTestMutation } from "./gql/graphql.js";
import { sha256 } from "./support/archive.js";
import { fixture } from "./support/fixtures.js";
import { until } from "./support/poll.js";
import { startTestServer, type TestServer } from "./support/server.js";

const Stage = graphql(`
  mutation StageUploadTest($file: Upload!) {
    stageUpload(file: $file) {
      __typename
      ... on StagedUpload {
        id
        filename
        byteSize
        sha256
        format
        createdAt
        expiresAt
      }
      ... on Error {
        message
        code
      }
      ... on UploadTooLargeError {
        maxBytes
      }
    }
  }
`);

const StagedList = graphql(`
  query StagedUploadList {
    stagedUploads {
      id
      filename
      format
      byteSize
    }
  }
`);

const WhoAmI = graphql(`
  query UploadsWhoAmI {
    viewer {
      email
    }
  }
`);

const StartExport = graphql(`
  mutation UploadsStartExport($input: ExportBackupInput!) {
    exportBackup(input: $input) {
      __typename
      ... on ExportBackupSuccess {
        job {
          id
        }
      }
    }
  }
`);

const ExportJob = graphql(`
  query UploadsExportJob($id: ID!) {
    exportJob(id: $id) {
      status
      downloadUrl
    }
  }
`);

type StageResult = StageUploadTestMutation["stageUpload"];
interface MultipartAnswer {
  status: number;
  body: { data?: { stageUpload: StageResult } | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

const STAGE_QUERY = print(Stage);
const CSRF = { "apollo-require-preflight": "1" };

/** A multipart request built by fetch's FormData (it sends a Content-Length). */
async function stageForm(server: TestServer, bytes: Uint8Array, filename: string, headers: Record<string, string>): Promise<MultipartAnswer> {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query: STAGE_QUERY, variables: { file: null } }));
  form.append("map", JSON.stringify({ "0": ["variables.file"] }));
  form.append("0", new Blob([bytes as Uint8Array<ArrayBuffer>]), filename);
  const res = await fetch(`${server.url}/graphql`, { method: "POST", headers, body: form });
  return { status: res.status, body: (await res.json()) as MultipartAnswer["body"] };
}

/**
 * A multipart request written by hand and streamed chunk by chunk (chunked
 * transfer encoding, no Content-Length): the file part comes from `file`, so
 * neither side ever holds the whole body.
 */
async function stageStreamed(
  server: TestServer,
  file: AsyncIterable<Uint8Array>,
  filename: string,
  headers: Record<string, string>,
): Promise<MultipartAnswer> {
  const boundary = `----stowage${Math.random().toString(16).slice(2)}`;
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n` +
    JSON.stringify({ query: STAGE_QUERY, variables: { file: null } }) +
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n` +
    JSON.stringify({ "0": ["variables.file"] }) +
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  async function* body() {
    yield Buffer.from(head);
    yield* file;
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  // node:http rather than fetch: undici's fetch keeps the chunks of an async-iterable
  // body alive until the request is over, which would blur the memory bound measured here
  const url = new URL(`${server.url}/graphql`);
  const req = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, ...headers },
  });
  const answer = new Promise<MultipartAnswer>((resolve, reject) => {
    req.on("error", reject);
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString("utf8")) as MultipartAnswer["body"] }));
    });
  });
  // the server may answer (413) before it has read the whole body; the answer is what counts
  await pipeline(Readable.from(body()), req).catch(() => {});
  return answer;
}

async function* chunksOf(buf: Buffer, size = 16 * 1024) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function staged(r: MultipartAnswer): Extract<StageResult, { __typename: "StagedUpload" }> {
  const result = r.body.data?.stageUpload;
  if (r.status !== 200 || result?.__typename !== "StagedUpload") throw new Error(`not staged: ${r.status} ${JSON.stringify(r.body)}`);
  return result;
}

/** Files (blobs and temporary files) under <dataDir>/blobs/uploads. */
function uploadFiles(server: TestServer): string[] {
  const dir = join(server.rt.config.dataDir, "blobs", "uploads");
  return existsSync(dir) ? readdirSync(dir) : [];
}

const rowCount = (server: TestServer) => server.rt.db.stagedUpload.count();

let s: TestServer;
let alice: { id: string; token: string };
let bob: { id: string; token: string };
let nativeZip: Buffer;
let jsonlGz: Buffer;

async function exportArchive(format: "ZIP" | "JSONL"): Promise<Buffer> {
  const started = await s.gql(StartExport, { input: { format } }, alice.token);
  const r = started.data!.exportBackup;
  if (r.__typename !== "ExportBackupSuccess") throw new Error(JSON.stringify(r));
  const job = await until(async () => {
    const j = (await s.gql(ExportJob, { id: r.job.id }, alice.token)).data?.exportJob;
    return j && (j.status === "SUCCEEDED" || j.status === "FAILED") ? j : null;
  }, "export");
  expect(job.status).toBe("SUCCEEDED");
  return Buffer.from(await (await fetch(job.downloadUrl!)).arrayBuffer());
}

beforeAll(async () => {
  s = await startTestServer();
  alice = await s.user("alice@example.com");
  bob = await s.user("bob@example.com");
  await seedDemo(s.rt.db, { userId: alice.id, scale: 40, seed: 3 });
  nativeZip = await exportArchive("ZIP");
  jsonlGz = await exportArchive("JSONL");
});
afterAll(() => s?.close());

describe("stageUpload through multipart HTTP", () => {
  const auth = () => ({ authorization: `Bearer ${alice.token}`, ...CSRF });

  it.each([
    ["a native ZIP", "backup.zip", () => nativeZip, "ZIP"],
    ["a gzip JSONL", "backup.jsonl.gz", () => jsonlGz, "JSONL"],
    ["a plain JSONL", "backup.jsonl", () => gunzipSync(jsonlGz), "JSONL"],
    ["OpenMemory's ZIP", "small.zip", () => readFileSync(fixture("openmemory", "small.zip")), "OPENMEMORY"],
  ] as const)("stages %s with its size, hash and format", async (_what, filename, bytes, format) => {
    const sent = bytes();
    const u = staged(await stageForm(s, sent, filename, auth()));
    expect(u).toMatchObject({ filename, byteSize: sent.length, sha256: sha256(sent), format });
    const ttl = Date.parse(u.expiresAt) - Date.parse(u.createdAt);
    expect(ttl).toBe(s.rt.config.stagedUploadTtlSeconds * 1000);

    const row = await s.rt.db.stagedUpload.findUniqueOrThrow({ where: { id: u.id } });
    expect(row).toMatchObject({ userId: alice.id, storageKey: `uploads/${u.id}`, byteSize: BigInt(sent.length) });
    const stored = readFileSync(join(s.rt.config.dataDir, "blobs", row.storageKey));
    expect(sha256(stored)).toBe(sha256(sent));
  });

  it("stages a streamed (chunked) upload the same way", async () => {
    const sent = gunzipSync(jsonlGz);
    const u = staged(await stageStreamed(s, chunksOf(sent), "streamed.jsonl", auth()));
    expect(u).toMatchObject({ byteSize: sent.length, sha256: sha256(sent), format: "JSONL" });
  });

  // yoga's JSON body limit (MAX_JSON_BODY_BYTES) must not apply to a multipart body already parsed
  it("stages an upload over the JSON body limit sent with a Content-Length", async () => {
    const sent = Buffer.alloc(3 * 1024 ** 2, "\n");
    gunzipSync(jsonlGz).subarray(0, 4096).copy(sent);
    const u = staged(await stageForm(s, sent, "big.jsonl", auth()));
    expect(u).toMatchObject({ byteSize: sent.length, sha256: sha256(sent), format: "JSONL" });
  });

  it("keeps only the last segment of the client's filename", async () => {
    const u = staged(await stageForm(s, gunzipSync(jsonlGz), "../../etc/passwd.jsonl", auth()));
    expect(u.filename).toBe("passwd.jsonl");
  });

  it.each([
    ["text", Buffer.from("hello, this is no archive\n")],
    ["a PNG", Buffer.from("89504e470d0a1a0a0000000d49484452", "hex")],
    ["a ZIP without manifest.json or memories.json", null],
    ["a gzip of something else than JSON lines", gzipSync(Buffer.from("plain words, no braces"))],
    ["a broken ZIP", Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 7)])],
    ["an empty file", Buffer.alloc(0)],
  ])("refuses %s with InvalidArchiveError and stores nothing", async (_what, maybeBytes) => {
    const bytes = maybeBytes ?? (await otherZip());
    const rows = await rowCount(s);
    const before = uploadFiles(s);
    const r = await stageForm(s, bytes, "x.bin", auth());
    expect(r.status).toBe(200);
    expect(r.body.data?.stageUpload).toMatchObject({ __typename: "InvalidArchiveError", code: "INVALID_ARCHIVE" });
    expect((r.body.data?.stageUpload as { message: string }).message).toMatch(/^not an archive stowage can read/);
    expect(await rowCount(s)).toBe(rows);
    expect(uploadFiles(s)).toEqual(before);
  });

  it("refuses a multipart request without a CSRF header", async () => {
    const rows = await rowCount(s);
    const r = await stageForm(s, nativeZip, "backup.zip", { authorization: `Bearer ${alice.token}` });
    expect(r.status).toBe(403);
    expect(r.body.errors?.[0].extensions?.code).toBe("CSRF_HEADER_MISSING");
    expect(await rowCount(s)).toBe(rows);
  });

  it("refuses an upload without a token (401 UNAUTHENTICATED), and the connection stays usable", async () => {
    const rows = await rowCount(s);
    // big enough that the unread file does not fit in the socket buffers
    const sent = Buffer.concat([nativeZip, Buffer.alloc(1536 * 1024)]);
    const r = await stageForm(s, sent, "backup.zip", CSRF);
    expect(r.status).toBe(401);
    expect(r.body.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(r.body.data ?? null).toBeNull();
    expect(await rowCount(s)).toBe(rows);
    for (let i = 0; i < 3; i++) expect((await s.gql(WhoAmI, {}, alice.token)).data?.viewer.email).toBe("alice@example.com");
    expect(staged(await stageForm(s, nativeZip, "backup.zip", auth())).format).toBe("ZIP");
  });

  it("lists the viewer's own unexpired uploads only", async () => {
    const mine = staged(await stageForm(s, nativeZip, "mine.zip", auth()));
    const expired = staged(await stageForm(s, nativeZip, "old.zip", auth()));
    await s.rt.db.stagedUpload.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const bobs = staged(await stageForm(s, nativeZip, "bobs.zip", { authorization: `Bearer ${bob.token}`, ...CSRF }));

    const list = (await s.gql(StagedList, {}, alice.token)).data!.stagedUploads;
    const ids = list.map((u) => u.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(expired.id);
    expect(ids).not.toContain(bobs.id);
    expect(list.find((u) => u.id === mine.id)).toMatchObject({ filename: "mine.zip", format: "ZIP", byteSize: nativeZip.length });
    expect((await s.gql(StagedList, {}, bob.token)).data!.stagedUploads.map((u) => u.id)).toEqual([bobs.id]);
  });

  it("streams: staging a 100 MB upload keeps memory far below 100 MB", async () => {
    const line = Buffer.from(`${JSON.stringify({ type: "memory", data: { id: "m".repeat(36), content: "x".repeat(200) } })}\n`);
    const chunk = Buffer.alloc(1024 * 1024, "\n");
    for (let off = 0; off + line.length <= chunk.length; off += line.length) line.copy(chunk, off);
    const CHUNKS = 100;
    const hash = createHash("sha256");
    for (let i = 0; i < CHUNKS; i++) hash.update(chunk);
    // live memory, sampled by the sender every 10 MiB (a garbage collection first, so freed
    // chunks waiting for a GC do not count): were the upload held anywhere, it would show
    const gc = liveGc();
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const baseline = live();
    const samples: number[] = [];
    async function* file() {
      for (let i = 0; i < CHUNKS; i++) {
        if (i % 10 === 0) samples.push(live());
        yield chunk;
      }
    }
    const r = await stageStreamed(s, file(), "big.jsonl", auth());
    samples.push(live());
    const u = staged(r);
    expect(u).toMatchObject({ byteSize: CHUNKS * chunk.length, sha256: hash.digest("hex"), format: "JSONL" });
    expect(samples).toHaveLength(11);
    const growth = Math.max(...samples) - baseline;
    // the whole upload in memory would be at least 100 MiB more
    expect(growth, `live memory grew by ${(growth / 1024 ** 2).toFixed(1)} MiB`).toBeLessThan(25 * 1024 ** 2);
  });
});

/**
 * A full garbage collection on demand, without starting node with --expose-gc.
 * V8 frees the many short-lived network buffers of a big upload late (the
 * unforced peak of heap + external grows with the upload's size even though
 * nothing holds on to them), so the bound is checked on live memory.
 */
function liveGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function otherZip(): Promise<Buffer> {
  const { ZipArchive } = await import("archiver");
  const zip = new ZipArchive();
  const parts: Buffer[] = [];
  zip.on("data", (c: Buffer) => parts.push(c));
  const done = new Promise((resolve, reject) => {
    zip.on("end", resolve);
    zip.on("error", reject);
  });
  zip.append(Buffer.from("{}"), { name: "notes.json" });
  await zip.finalize();
  await done;
  return Buffer.concat(parts);
}

describe("uploads over the size limit", () => {
  const LIMIT = 64 * 1024;
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer({ MAX_UPLOAD_BYTES: String(LIMIT) });
    token = (await t.user("carol@example.com")).token;
  });
  afterAll(() => t?.close());

  const big = () => {
    // a valid JSONL start, so only the size can be the reason for refusing it
    const b = Buffer.alloc(200 * 1024, "\n");
    Buffer.from('{"type":"metadata","data":{}}\n').copy(b);
    return b;
  };

  async function expectRefusedAndClean(r: MultipartAnswer) {
    expect(r.status).toBe(413);
    const result = r.body.data?.stageUpload;
    expect(result).toMatchObject({ __typename: "UploadTooLargeError", code: "UPLOAD_TOO_LARGE", maxBytes: LIMIT });
    expect(r.body.errors).toBeUndefined();
    expect(await rowCount(t)).toBe(0);
    expect(uploadFiles(t)).toEqual([]);
    // the server still answers, on whatever connection the client reuses
    expect((await t.gql(WhoAmI, {}, token)).data?.viewer.email).toBe("carol@example.com");
  }

  it("answers 413 + UploadTooLargeError for a streamed (chunked) upload past the limit, keeping nothing", async () => {
    await expectRefusedAndClean(await stageStreamed(t, chunksOf(big()), "big.jsonl", { authorization: `Bearer ${token}`, ...CSRF }));
  });

  it("answers 413 + UploadTooLargeError when the Content-Length passes the pre-check but the file is too large", async () => {
    await expectRefusedAndClean(await stageForm(t, big(), "big.jsonl", { authorization: `Bearer ${token}`, ...CSRF }));
  });

  it("answers 413 + UPLOAD_TOO_LARGE when the declared Content-Length is already over the limit", async () => {
    const r = await stageForm(t, new Uint8Array(3 * 1024 ** 2), "huge.bin", { authorization: `Bearer ${token}`, ...CSRF });
    expect(r.status).toBe(413);
    expect(r.body.errors?.[0].extensions).toMatchObject({ code: "UPLOAD_TOO_LARGE", maxBytes: LIMIT });
    expect(await rowCount(t)).toBe(0);
    expect(uploadFiles(t)).toEqual([]);
    expect((await t.gql(WhoAmI, {}, token)).data?.viewer.email).toBe("carol@example.com");
  });

  it("still stages a file under the limit afterwards", async () => {
    const ok = Buffer.from('{"type":"metadata","data":{}}\n');
    const u = staged(await stageForm(t, ok, "ok.jsonl", { authorization: `Bearer ${token}`, ...CSRF }));
    expect(u).toMatchObject({ byteSize: ok.length, format: "JSONL" });
    expect(uploadFiles(t)).toEqual([u.id]);
  });
});

describe("an upload cut before the resolver opens it", () => {
  // with a limit this small busboy reaches it while parsing the very first chunk of the
  // body, before the resolver runs: graphql-upload-minimal then reports an HttpError 413
  // from createReadStream() instead of a truncated stream
  const LIMIT = 1024;
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer({ MAX_UPLOAD_BYTES: String(LIMIT) });
    token = (await t.user("dave@example.com")).token;
  });
  afterAll(() => t?.close());

  it("answers 413 + UploadTooLargeError too", async () => {
    const bytes = Buffer.alloc(8 * 1024, "\n");
    Buffer.from('{"type":"metadata","data":{}}\n').copy(bytes);
    const r = await stageForm(t, bytes, "big.jsonl", { authorization: `Bearer ${token}`, ...CSRF });
    expect(r.status).toBe(413);
    expect(r.body.data?.stageUpload).toMatchObject({ __typename: "UploadTooLargeError", code: "UPLOAD_TOO_LARGE", maxBytes: LIMIT });
    expect(await rowCount(t)).toBe(0);
    expect(uploadFiles(t)).toEqual([]);
    expect((await t.gql(WhoAmI, {}, token)).data?.viewer.email).toBe("dave@example.com");
  });
});

describe("resolveUpload (engine)", () => {
  const bytes = () => readFileSync(fixture("openmemory", "small.zip"));
  const source = (b: Buffer, filename = "small.zip") => ({ filename, stream: Readable.from(chunksOf(b)) });

  async function refusal(p: Promise<unknown>): Promise<Error> {
    const err = await p.then(
      () => null,
      (e: unknown) => e as Error,
    );
    if (!err) throw new Error("expected a refusal");
    return err;
  }

  it("gives the requester's own staged upload as a readable file, kept after release", async () => {
    const up = await stageUpload(s.rt, alice.id, source(bytes()));
    const r = await resolveUpload(s.rt, alice.id, { uploadId: up.id });
    expect(r.upload.id).toBe(up.id);
    expect(sha256(readFileSync(r.path))).toBe(sha256(bytes()));
    await r.release();
    expect(await s.rt.store.exists(up.storageKey)).toBe(true);
    expect(await s.rt.db.stagedUpload.count({ where: { id: up.id } })).toBe(1);
  });

  it("refuses another user's uploadId exactly like an unknown one", async () => {
    const up = await stageUpload(s.rt, alice.id, source(bytes()));
    const foreign = await refusal(resolveUpload(s.rt, bob.id, { uploadId: up.id }));
    const unknownId = "00000000-0000-4000-8000-000000000000";
    const unknown = await refusal(resolveUpload(s.rt, bob.id, { uploadId: unknownId }));
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(foreign.message.replace(up.id, "<id>")).toBe(unknown.message.replace(unknownId, "<id>"));
    expect(await refusal(resolveUpload(s.rt, bob.id, { uploadId: "not-a-uuid" }))).toBeInstanceOf(NotFoundError);
  });

  it("refuses an expired upload", async () => {
    const up = await stageUpload(s.rt, alice.id, source(bytes()));
    await s.rt.db.stagedUpload.update({ where: { id: up.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await refusal(resolveUpload(s.rt, alice.id, { uploadId: up.id }))).toBeInstanceOf(NotFoundError);
  });

  it("stages a direct file and deletes it on release", async () => {
    const r = await resolveUpload(s.rt, alice.id, { file: source(bytes()) });
    expect(r.upload).toMatchObject({ userId: alice.id, format: "OPENMEMORY", byteSize: BigInt(bytes().length) });
    expect(sha256(readFileSync(r.path))).toBe(sha256(bytes()));
    await r.release();
    await r.release();
    expect(await s.rt.store.exists(r.upload.storageKey)).toBe(false);
    expect(await s.rt.db.stagedUpload.count({ where: { id: r.upload.id } })).toBe(0);
  });

  it("wants exactly one of file and uploadId", async () => {
    expect(await refusal(resolveUpload(s.rt, alice.id, {}))).toBeInstanceOf(ValidationError);
    const up = await stageUpload(s.rt, alice.id, source(bytes()));
    expect(await refusal(resolveUpload(s.rt, alice.id, { file: source(bytes()), uploadId: up.id }))).toBeInstanceOf(ValidationError);
  });

  it("refuses a stream over maxUploadBytes by itself, and one cut by the transport (truncated), keeping no blob", async () => {
    const services = { ...s.rt, config: { ...s.rt.config, maxUploadBytes: 1000 } };
    const files = () => uploadFiles(s).sort();
    const before = files();
    expect(await refusal(stageUpload(services, alice.id, source(Buffer.alloc(5000, "{"))))).toBeInstanceOf(UploadTooLargeError);
    const cut = Readable.from(chunksOf(Buffer.from('{"type":"metadata"}\n')));
    cut.on("end", () => Object.assign(cut, { truncated: true }));
    expect(await refusal(stageUpload(s.rt, alice.id, { filename: "cut.jsonl", stream: cut }))).toBeInstanceOf(UploadTooLargeError);
    expect(files()).toEqual(before);
  });
});
