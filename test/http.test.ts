import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

let s: TestServer;
let token: string;
beforeAll(async () => {
  s = await startTestServer({ MAX_UPLOAD_BYTES: String(64 * 1024), MAX_JSON_BODY_BYTES: String(32 * 1024) });
  token = (await s.user("http@example.com")).token;
});
afterAll(() => s.close());

function multipart(headers: Record<string, string>, fileBytes = 0) {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query: "{ viewer { email } }", variables: {} }));
  form.append("map", JSON.stringify(fileBytes ? { "0": ["variables.file"] } : {}));
  if (fileBytes) form.append("0", new Blob([new Uint8Array(fileBytes)]), "big.bin");
  return fetch(`${s.url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${token}`, ...headers }, body: form });
}

describe("HTTP transport", () => {
  it("refuses multipart requests without a preflight-forcing header (CSRF)", async () => {
    const res = await multipart({});
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe("CSRF_HEADER_MISSING");
  });

  it.each(["apollo-require-preflight", "x-apollo-operation-name", "x-graphql-yoga-csrf", "graphql-require-preflight"])(
    "accepts multipart requests carrying %s",
    async (header) => {
      const res = await multipart({ [header]: "1" });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { viewer: { email: "http@example.com" } } });
    },
  );

  it("answers an upload larger than the limit with 413 and UPLOAD_TOO_LARGE, and stays healthy", async () => {
    const res = await multipart({ "apollo-require-preflight": "1" }, 3 * 1024 ** 2);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { extensions: { code: string; maxBytes: number } }[] };
    expect(body.errors[0].extensions).toMatchObject({ code: "UPLOAD_TOO_LARGE", maxBytes: 64 * 1024 });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it("limits JSON request bodies deliberately", async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ viewer { email } }`, variables: { pad: "x".repeat(64 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it("needs the CSRF header for GET operations too", async () => {
    const q = encodeURIComponent("{ viewer { email } }");
    const bare = await fetch(`${s.url}/graphql?query=${q}`, { headers: { authorization: `Bearer ${token}` } });
    expect(bare.status).toBe(403);
    const ok = await fetch(`${s.url}/graphql?query=${q}`, { headers: { authorization: `Bearer ${token}`, "x-graphql-yoga-csrf": "1" } });
    expect(ok.status).toBe(200);
  });
});

describe("upload size limit edges", () => {
  async function stageBytes(bytes: Buffer) {
    const form = new FormData();
    form.append("operations", JSON.stringify({ query: "mutation ($f: Upload!) { stageUpload(file: $f) { __typename ... on StagedUpload { byteSize } } }", variables: { f: null } }));
    form.append("map", JSON.stringify({ "0": ["variables.f"] }));
    form.append("0", new Blob([new Uint8Array(bytes)]), "edge.jsonl");
    const res = await fetch(`${s.url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" }, body: form });
    return { status: res.status, body: (await res.json()) as { data?: { stageUpload: { __typename: string; byteSize?: number } } } };
  }
  const lines = (n: number) => {
    const line = Buffer.from(JSON.stringify({ type: "metadata", data: {} }) + "\n");
    const out = Buffer.alloc(n, " ");
    line.copy(out);
    out[n - 1] = 0x0a;
    return out;
  };

  it("takes a file of exactly the limit, and refuses one byte more with 413", async () => {
    const ok = await stageBytes(lines(64 * 1024));
    expect(ok.status).toBe(200);
    expect(ok.body.data?.stageUpload).toEqual({ __typename: "StagedUpload", byteSize: 64 * 1024 });
    const over = await stageBytes(lines(64 * 1024 + 1));
    expect(over.status).toBe(413);
  });
});
