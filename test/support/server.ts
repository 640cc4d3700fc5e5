import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { loadConfig } from "../../src/config.js";
import { createUser } from "../../src/auth/users.js";
import { createServer } from "../../src/http/server.js";
import { createLogger } from "../../src/logger.js";
import { openRuntime, type Runtime } from "../../src/runtime.js";
import { testDatabase } from "./database.js";

export interface GqlResult<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestServer {
  url: string;
  rt: Runtime;
  /** SQL statements sent since the last reset */
  queries: string[];
  user(email: string, role?: "USER" | "ADMIN"): Promise<{ id: string; email: string; token: string }>;
  gql<T, V>(doc: TypedDocumentNode<T, V>, variables?: V, token?: string | null): Promise<GqlResult<T>>;
  /** A GraphQL multipart request (the upload spec): `files` maps variable paths (e.g. "input.file") to bytes. */
  upload<T, V>(doc: TypedDocumentNode<T, V>, variables: V, files: Record<string, { name: string; bytes: Uint8Array }>, token: string): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

/** A real server on a random port over a fresh database, driven through HTTP. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const tdb = testDatabase();
  const config = loadConfig({ DATA_DIR: tdb.dataDir, LOG_LEVEL: "silent", ...env });
  config.database = tdb.database;
  const queries: string[] = [];
  const rt = await openRuntime({ config, logger: createLogger("silent"), db: { onQuery: (q) => queries.push(q) } });
  const server: Server = createServer(rt);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    rt,
    queries,
    async user(email, role = "USER") {
      const { user, token } = await createUser(rt.db, { email, role });
      return { id: user.id, email: user.email, token };
    },
    async gql(doc, variables, token) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: print(doc), variables }),
      });
      const body = (await res.json()) as Omit<GqlResult<never>, "status">;
      return { status: res.status, ...body } as GqlResult<never>;
    },
    async upload(doc, variables, files, token) {
      const form = new FormData();
      const paths = Object.keys(files);
      form.append("operations", JSON.stringify({ query: print(doc), variables }));
      form.append("map", JSON.stringify(Object.fromEntries(paths.map((p, i) => [String(i), [`variables.${p}`]]))));
      paths.forEach((p, i) => form.append(String(i), new Blob([files[p].bytes as Uint8Array<ArrayBuffer>]), files[p].name));
      const res = await fetch(`${url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "true" }, body: form });
      const body = (await res.json()) as Omit<GqlResult<never>, "status">;
      return { status: res.status, ...body } as GqlResult<never>;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rt.close();
      await tdb.drop();
    },
  };
}
