import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createYoga } from "graphql-yoga";
import { processRequest } from "graphql-upload-minimal";
import { authenticate } from "../auth/users.js";
import { UploadTooLargeError } from "../engine/errors.js";
import type { AppContext } from "../graphql/context.js";
import { schema } from "../graphql/schema/index.js";
import type { Services } from "../services.js";
import { useRequireViewer } from "./auth-plugin.js";
import { useDrainUnreadUploads, useResponseStatus } from "./http-status-plugin.js";
import { CSRF_HEADERS, hasCsrfHeader } from "./csrf.js";
import { downloadTokenFromPath, handleDownload } from "./downloads.js";
import { handleRest, isRestPath } from "./rest/index.js";

// room for the multipart envelope (operations, map, part headers) around a file
const MULTIPART_OVERHEAD = 1024 ** 2;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function graphqlError(message: string, extensions: Record<string, unknown>) {
  return { errors: [{ message, extensions }] };
}

export function createYogaApp(services: Services) {
  return createYoga<{ req: IncomingMessage; res: ServerResponse }, AppContext>({
    schema,
    graphqlEndpoint: "/graphql",
    // uploads are parsed (streamed) by graphql-upload-minimal before yoga sees the request
    multipart: false,
    maxRequestBodySize: services.config.maxJsonBodyBytes,
    landingPage: false,
    graphiql: {
      title: "stowage",
      defaultQuery: "# Add your token in the Headers tab:\n#   { \"Authorization\": \"Bearer stw_...\" }\n\nquery Viewer {\n  viewer {\n    id\n    email\n    role\n  }\n}\n",
      headers: JSON.stringify({ Authorization: "Bearer " }),
      shouldPersistHeaders: true,
    },
    renderGraphiQL,
    logging: services.logger.child({ component: "yoga" }) as never,
    maskedErrors: { isDev: process.env.NODE_ENV === "development" },
    plugins: [useCSRFPrevention({ requestHeaders: CSRF_HEADERS }), useRequireViewer(), useResponseStatus(), useDrainUnreadUploads()],
    context: async ({ request }): Promise<AppContext> => ({
      services,
      viewer: await authenticate(services.db, request.headers.get("authorization")),
    }),
  });
}

export function createServer(services: Services): Server {
  const yoga = createYogaApp(services);
  const { maxUploadBytes } = services.config;
  return createHttpServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/healthz") {
        await services.db.user.count();
        return sendJson(res, 200, { ok: true });
      }
      const downloadToken = downloadTokenFromPath(url.pathname);
      if (downloadToken !== null) return await handleDownload(services, services.store, services.downloadSecret, req, res, downloadToken);
      // OpenMemory's and FOVEA's REST routes (src/http/rest): same engine, same bearer tokens
      if (isRestPath(url.pathname)) return await handleRest(services, req, res, url);
      if (url.pathname === "/graphql" && req.method === "POST" && /^multipart\/form-data/i.test(req.headers["content-type"] ?? "")) {
        if (!hasCsrfHeader(req.headers)) {
          return sendJson(res, 403, graphqlError(`Multipart requests need one of the headers ${CSRF_HEADERS.join(", ")}.`, { code: "CSRF_HEADER_MISSING" }));
        }
        const declared = Number(req.headers["content-length"] ?? NaN);
        if (declared > maxUploadBytes + MULTIPART_OVERHEAD) {
          const e = new UploadTooLargeError(`upload of ${declared} bytes exceeds the limit of ${maxUploadBytes} bytes`, maxUploadBytes);
          res.setHeader("connection", "close");
          return sendJson(res, 413, graphqlError(e.message, { code: e.code, maxBytes: maxUploadBytes }));
        }
        try {
          // busboy calls a file of exactly the limit truncated; the engine refuses anything past the limit itself
          (req as IncomingMessage & { body?: unknown }).body = await processRequest(req, res, { maxFileSize: maxUploadBytes + 1, maxFiles: 1 });
          // the body is parsed: yoga's JSON body limit must not judge the file's Content-Length
          delete req.headers["content-length"];
        } catch (err) {
          const status = (err as { status?: number }).status ?? 400;
          const e = status === 413 ? new UploadTooLargeError((err as Error).message, maxUploadBytes) : null;
          res.setHeader("connection", "close");
          return sendJson(res, status, graphqlError((err as Error).message, { code: e?.code ?? "BAD_MULTIPART_REQUEST", ...(e ? { maxBytes: maxUploadBytes } : {}) }));
        }
      }
      await yoga.requestListener(req, res);
    } catch (err) {
      services.logger.error({ err }, "request failed");
      if (!res.headersSent) sendJson(res, 500, graphqlError("internal error", { code: "INTERNAL" }));
      else res.destroy();
    }
  });
}
