// Prisma's own migration engine, compiled to WebAssembly, driven over a driver
// adapter: migrations run with no native binary and no network, and are
// recorded in `_prisma_migrations` exactly as `prisma migrate deploy` does.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine as Engine } from "@prisma/schema-engine-wasm";
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";

export type SchemaEngine = Engine;

// @types/node does not declare the WebAssembly global; only these calls are used.
interface Wasm {
  compile(bytes: Uint8Array): Promise<object>;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

let ready: Promise<void> | undefined;

// The engine sets timers it never clears — on PostgreSQL a 10 s bound raced
// against its migration lock — so every CLI command there lingered 10 s after
// its work. While an engine is open its timers hold the process as usual; once
// the last is freed, those left over no longer do.
const pending = new Set<ReturnType<typeof setTimeout>>();
let openEngines = 0;

function engineSetTimeout(fn: () => void, ms: number) {
  const timer = setTimeout(() => {
    pending.delete(timer);
    fn();
  }, ms >>> 0);
  if (openEngines > 0) pending.add(timer);
  else timer.unref();
  return timer;
}

function released() {
  if (--openEngines > 0) return;
  for (const timer of pending) timer.unref();
  pending.clear();
}

function imports(): Record<string, unknown> {
  const timeoutImport = Object.keys(bg).find((k) => k.startsWith("__wbg_setTimeout_"));
  return timeoutImport ? { ...bg, [timeoutImport]: engineSetTimeout } : bg;
}

function load(): Promise<void> {
  ready ??= (async () => {
    const wasmPath = fileURLToPath(import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg").replace(/schema_engine_bg\.js$/, "schema_engine_bg.wasm"));
    const module = await WebAssembly.compile(await readFile(wasmPath));
    const instance = new WebAssembly.Instance(module, { "./schema_engine_bg.js": imports() });
    (bg as unknown as { __wbg_set_wasm(exports: unknown): void }).__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return ready;
}

export async function openSchemaEngine(
  datamodel: { path: string; content: string },
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  log: (line: string) => void = () => {},
): Promise<SchemaEngine> {
  await load();
  const SchemaEngineClass = (bg as unknown as { SchemaEngine: typeof Engine }).SchemaEngine;
  openEngines++;
  let engine: SchemaEngine;
  try {
    engine = await SchemaEngineClass.new({ datamodels: [[datamodel.path, datamodel.content]] }, log, bindMigrationAwareSqlAdapterFactory(adapterFactory));
  } catch (err) {
    released();
    throw err;
  }
  const free = engine.free.bind(engine);
  let freed = false;
  engine.free = () => {
    if (freed) return;
    freed = true;
    free();
    released();
  };
  return engine;
}
