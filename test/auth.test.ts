import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "./gql/index.js";
import { startTestServer, type TestServer } from "./support/server.js";

const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      email
      role
    }
  }
`);

const IntrospectionQuery = graphql(`
  query SchemaRoot {
    __schema {
      queryType {
        name
      }
    }
  }
`);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe("bearer token auth", () => {
  it("answers viewer for a valid token", async () => {
    const u = await s.user("ada@example.com");
    const r = await s.gql(ViewerQuery, {}, u.token);
    expect(r.errors).toBeUndefined();
    expect(r.data?.viewer).toEqual({ id: u.id, email: "ada@example.com", role: "USER" });
  });

  it("refuses operations without a token with UNAUTHENTICATED and 401", async () => {
    const r = await s.gql(ViewerQuery, {}, null);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(r.data ?? null).toBeNull();
  });

  it("refuses a forged, malformed or revoked token", async () => {
    const u = await s.user("bob@example.com");
    const forged = u.token.slice(0, -4) + (u.token.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const t of [forged, "nonsense", `${u.token}x`]) {
      const r = await s.gql(ViewerQuery, {}, t);
      expect(r.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
    const { revokeTokens } = await import("../src/auth/users.js");
    expect(await revokeTokens(s.rt.db, u.email)).toBe(1);
    const r = await s.gql(ViewerQuery, {}, u.token);
    expect(r.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("allows introspection without a token", async () => {
    const r = await s.gql(IntrospectionQuery, {}, null);
    expect(r.status).toBe(200);
    expect(r.data?.__schema.queryType.name).toBe("Query");
  });

  it("stores only a hash of the token", async () => {
    const u = await s.user("carol@example.com", "ADMIN");
    const rows = await s.rt.db.apiToken.findMany({ where: { userId: u.id } });
    expect(rows).toHaveLength(1);
    const secret = u.token.split("_").slice(2).join("_");
    expect(JSON.stringify(rows)).not.toContain(secret);
  });
});
