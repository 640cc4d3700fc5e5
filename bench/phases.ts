// Phase timing for the export without touching src: the Prisma client handed
// to writeExport is wrapped so every model query is timed (await to result:
// SQL, driver, Prisma's row mapping), and JSON.stringify is timed globally.
// What remains of the wall time is line building, toLineData, the stream
// plumbing, gzip/zip bookkeeping on the main thread and waiting on them.
import type { Db } from "../src/db/client.js";
import { shareReader } from "../src/db/raw.js";

export interface PhaseTimer {
  wrapDb(db: Db): Db;
  report(totalMs: number): Record<string, number>;
}

export function installPhaseTimers(): PhaseTimer {
  const ms: Record<string, number> = {};
  const calls: Record<string, number> = {};
  const add = (k: string, v: number) => {
    ms[k] = (ms[k] ?? 0) + v;
    calls[k] = (calls[k] ?? 0) + 1;
  };

  const stringify = JSON.stringify;
  JSON.stringify = function (this: unknown, ...args: Parameters<typeof JSON.stringify>) {
    const t = performance.now();
    const s = stringify.apply(JSON, args);
    add("JSON.stringify", performance.now() - t);
    return s;
  } as typeof JSON.stringify;

  const wrapModel = (name: string, model: Record<string, unknown>) =>
    new Proxy(model, {
      get(target, op, receiver) {
        const v = Reflect.get(target, op, receiver);
        if (typeof v !== "function" || typeof op !== "string") return v;
        return async (...args: unknown[]) => {
          const t = performance.now();
          try {
            return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            add(`prisma ${op}`, performance.now() - t);
            add(`prisma ${op} ${name}`, performance.now() - t);
          }
        };
      },
    });

  // memory: the peak of each part, sampled
  const peak: Record<string, number> = {};
  const sample = () => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v);
  };
  const sampler = setInterval(sample, 20);

  return {
    wrapDb(db) {
      const cache = new Map<string, unknown>();
      const wrapped = new Proxy(db, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof prop !== "string" || prop.startsWith("$") || typeof v !== "object" || v === null) return v;
          if (!cache.has(prop)) cache.set(prop, wrapModel(prop, v as Record<string, unknown>));
          return cache.get(prop);
        },
      });
      // the export reads through the driver (db/raw.ts): Prisma timers see only what is left on Prisma
      shareReader(wrapped, db);
      return wrapped;
    },
    report(totalMs) {
      JSON.stringify = stringify;
      clearInterval(sampler);
      sample();
      const out: Record<string, number> = { "total ms": Math.round(totalMs) };
      for (const [k, v] of Object.entries(peak)) out[`peak ${k} MiB`] = Math.round(v / 2 ** 20);
      for (const [k, v] of Object.entries(ms).sort((a, b) => b[1] - a[1])) {
        out[`${k} ms`] = Math.round(v);
        out[`${k} calls`] = calls[k];
      }
      return out;
    },
  };
}
