// Summarizes a V8 .cpuprofile (node --cpu-prof): main-thread self time by
// component and the top functions. zlib's deflate runs on libuv's threadpool
// and does not show here (only its main-thread bookkeeping does).
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const COMPONENTS: [RegExp, string][] = [
  [/^wasm:|query_compiler/, "Prisma query compiler (wasm + glue)"],
  [/@prisma\/client\/runtime/, "Prisma client runtime (JS)"],
  [/@prisma\/adapter-better-sqlite3/, "Prisma SQLite adapter"],
  [/@prisma\/adapter-pg/, "Prisma pg adapter"],
  [/@prisma\/driver-adapter-utils/, "Prisma adapter utils"],
  [/node_modules\/better-sqlite3/, "better-sqlite3 (JS)"],
  [/node_modules\/(pg|pg-protocol|pg-types|postgres-[a-z]+)\//, "pg driver"],
  [/node_modules\/(archiver|zip-stream|compress-commons|crc-32|crc32-stream|readable-stream|lazystream|archiver-utils|streamx|b4a)/, "archiver / zip"],
  [/src\/engine\/kinds\//, "stowage kinds (toLineData...)"],
  [/src\/engine\/records/, "stowage records.ts"],
  [/src\/engine\/archive\/lines/, "stowage lines.ts"],
  [/src\/engine\//, "stowage engine (other)"],
  [/\/bench\/experiments\/variant/, "variant pipeline (bench/experiments: records + lines copies)"],
  [/\/bench\/baseline/, "baseline loop (driver rows + JSON.stringify)"],
  [/\/bench\//, "bench harness"],
  [/node:zlib|^zlib$/, "zlib (main-thread side)"],
  [/node:internal\/streams|node:stream/, "node streams"],
  [/node:internal\/(crypto|hash)|node:crypto/, "crypto (sha256)"],
  [/^node:/, "node core (other)"],
  [/node_modules\/zod/, "zod"],
  [/node_modules\//, "other node_modules"],
];

function component(cf: CallFrame): string {
  if (!cf.url) {
    if (cf.functionName.startsWith("(")) return cf.functionName; // (garbage collector), (idle), (program)
    if (/stringify/i.test(cf.functionName)) return "JSON.stringify (native)";
    if (/parse/i.test(cf.functionName)) return "JSON.parse / Date.parse (native)";
    return `native: ${cf.functionName || "(anonymous)"}`;
  }
  for (const [re, name] of COMPONENTS) if (re.test(cf.url)) return name;
  return cf.url.replace(/^file:\/\//, "");
}

export interface ProfileSummary {
  totalMs: number;
  components: [string, number][];
  functions: [string, number][];
}

export function summarizeProfile(path: string, top = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // a sample's delta is the time until the next one: attribute it to the sample it follows
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const comps = new Map<string, number>();
  const funcs = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame;
    total += ms;
    const c = component(cf);
    comps.set(c, (comps.get(c) ?? 0) + ms);
    const where = cf.url ? `${cf.url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")}:${cf.lineNumber + 1}` : "native";
    const f = `${cf.functionName || "(anonymous)"} ${where}`;
    funcs.set(f, (funcs.get(f) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, components: sorted(comps), functions: sorted(funcs).slice(0, top) };
}

export function printProfile(label: string, path: string): void {
  const s = summarizeProfile(path);
  const pct = (ms: number) => ((100 * ms) / s.totalMs).toFixed(1).padStart(5) + "%";
  console.log(`\n### CPU profile: ${label}\n\n${path}\nmain thread, ${(s.totalMs / 1000).toFixed(1)} s sampled\n`);
  console.log("| component (self time) | ms | share |\n|---|---:|---:|");
  for (const [c, ms] of s.components.filter(([, ms]) => ms >= s.totalMs * 0.005)) console.log(`| ${c} | ${Math.round(ms)} | ${pct(ms)} |`);
  console.log("\n| top functions (self time) | ms | share |\n|---|---:|---:|");
  for (const [f, ms] of s.functions) console.log(`| \`${f}\` | ${Math.round(ms)} | ${pct(ms)} |`);
}

// `tsx bench/profile.ts file.cpuprofile` summarizes an existing profile
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const f of process.argv.slice(2)) printProfile(f, f);
}
