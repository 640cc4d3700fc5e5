// The REST compatibility routes: OpenMemory's backup API and FOVEA's
// export/import API, thin shells over the same engine and the same tokens.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Services } from "../../services.js";
import { handleFovea, isFoveaPath } from "./fovea.js";
import { handleOpenMemory, OPENMEMORY_PREFIX } from "./openmemory.js";

/** Whether a path belongs to the REST routes (they answer 404 themselves for unknown paths below their prefixes). */
export function isRestPath(pathname: string): boolean {
  return pathname === OPENMEMORY_PREFIX || pathname.startsWith(`${OPENMEMORY_PREFIX}/`) || isFoveaPath(pathname);
}

export function handleRest(services: Services, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  return pathnameIsOpenMemory(url.pathname) ? handleOpenMemory(services, req, res, url) : handleFovea(services, req, res, url);
}

const pathnameIsOpenMemory = (p: string) => p === OPENMEMORY_PREFIX || p.startsWith(`${OPENMEMORY_PREFIX}/`);
