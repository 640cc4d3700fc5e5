import { join, resolve } from "node:path";
import { projectRoot } from "../../src/db/migrations.js";

/** The shared folder beside the checkout (CI clones the repo next to it). */
export const SHARED = resolve(process.env.STOWAGE_SHARED ?? join(projectRoot, "../shared"));

export const fixture = (...parts: string[]) => join(SHARED, "fixtures", ...parts);
