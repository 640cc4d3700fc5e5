// The worker as one ESM file for plain node, built with esbuild (which
// tsx runs on) the first time a process needs a worker. Running the .ts sources
// would need tsx's loader in every worker: about 37 MiB of RSS (a module-loader
// thread with an isolate of its own) and 0.4 s of start per export, which is
// most of what a worker holds before its first record. Built per process, so it
// never runs code older than the server's; if esbuild cannot be loaded or the
// build fails, workers run the sources under tsx instead (slower, same result).
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../db/migrations.js";

/**
 * Where the bundle goes: under the project (its packages stay imports, resolved
 * from node_modules above it) and exactly two levels down, because projectRoot
 * (db/migrations.ts) is found from the module's own URL, which in a bundle is
 * the bundle's. src/generated is git-ignored and rebuilt at install already.
 */
export const BUNDLE_PATH = join(projectRoot, "src", "generated", "worker.mjs");

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: { contents: Uint8Array }[] }>;
}

let built: Promise<string> | undefined;

/** Builds the bundle once per process; resolves with its path. */
export function workerBundle(entry: string): Promise<string> {
  built ??= (async () => {
    // esbuild comes with tsx (a dependency): resolved from tsx, so hoisting does not matter
    const require = createRequire(import.meta.url);
    const esbuildPath = createRequire(require.resolve("tsx")).resolve("esbuild");
    const mod = (await import(pathToFileURL(esbuildPath).href)) as Partial<Esbuild> & { default?: Esbuild };
    const esbuild = mod.build ? (mod as Esbuild) : mod.default!;
    const out = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles?.[0]?.contents;
    if (!code) throw new Error("esbuild wrote no output");
    // other processes (a second server, parallel tests) may build at the same time: write aside, rename into place
    await mkdir(join(projectRoot, "src", "generated"), { recursive: true });
    const temp = `${BUNDLE_PATH}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(temp, code);
    await rename(temp, BUNDLE_PATH);
    return BUNDLE_PATH;
  })();
  return built;
}
