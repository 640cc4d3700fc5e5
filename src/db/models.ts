// The column layout of every model, for code that builds SQL from the Prisma
// datamodel (bulk inserts, the export's driver reads): columns, their types,
// which have defaults and what the defaults are, @map names and enums.
//
// Kept apart from bulk.ts, and free of Prisma's runtime (type imports only),
// so a process that only reads (an export worker) loads neither the client
// runtime nor the insert code. bulk.ts re-exports what is here.

import type { Prisma } from "../generated/sqlite/client.js";
import { getDatamodel } from "../generated/pothos-types.js";
import { readSchema, type Provider } from "./migrations.js";

export type ModelName = Prisma.ModelName;

export type DefaultSpec =
  | { kind: "uuid" }
  | { kind: "now" }
  | { kind: "literal"; value: string | number | boolean }
  | { kind: "dbgenerated" };

export interface ColumnInfo {
  field: string;
  column: string;
  /** Prisma scalar type (String, Int, DateTime, Json...) or the enum's name */
  type: string;
  isEnum: boolean;
  /** the enum's database type name (@@map), for PostgreSQL casts */
  enumDbName?: string;
  isRequired: boolean;
  isUpdatedAt: boolean;
  default?: DefaultSpec;
}

export interface ModelInfo {
  name: ModelName;
  table: string;
  columns: ColumnInfo[];
  byField: Map<string, ColumnInfo>;
  /** models this one references through a foreign key (itself excluded) */
  parents: ModelName[];
  enumValues: Map<string, Set<string>>;
}

interface SchemaFacts {
  tables: Map<string, string>;
  columns: Map<string, Map<string, { column: string; default?: DefaultSpec; native?: string }>>;
  enums: Map<string, { dbName: string; values: Set<string> }>;
}

function parseDefault(expr: string, where: string): DefaultSpec {
  const e = expr.trim();
  if (/^uuid\(\s*(4)?\s*\)$/.test(e)) return { kind: "uuid" };
  if (e === "now()") return { kind: "now" };
  if (/^(autoincrement|dbgenerated|sequence)\(/.test(e)) return { kind: "dbgenerated" };
  if (/^"(?:[^"\\]|\\.)*"$/.test(e)) return { kind: "literal", value: JSON.parse(e) as string };
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(e)) return { kind: "literal", value: Number(e) };
  if (e === "true" || e === "false") return { kind: "literal", value: e === "true" };
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)) return { kind: "literal", value: e }; // enum value
  throw new Error(`bulk insert: unsupported @default(${e}) on ${where}`);
}

/** The text inside the parentheses that follow `attr(`, balanced. */
function attributeArgs(line: string, attr: string): string | undefined {
  const at = line.indexOf(attr + "(");
  if (at < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = at + attr.length; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return line.slice(at + attr.length + 1, i);
  }
  throw new Error(`bulk insert: unbalanced ${attr}( in: ${line}`);
}

function parseSchema(text: string): SchemaFacts {
  const facts: SchemaFacts = { tables: new Map(), columns: new Map(), enums: new Map() };
  const lines = text.split("\n").map((l) => l.replace(/\/\/.*$/, "").trim());
  let block: { kind: "model" | "enum"; name: string } | null = null;
  for (const line of lines) {
    if (!block) {
      const m = /^(model|enum)\s+(\w+)\s*\{$/.exec(line);
      if (m) {
        block = { kind: m[1] as "model" | "enum", name: m[2] };
        if (m[1] === "model") {
          facts.tables.set(m[2], m[2]);
          facts.columns.set(m[2], new Map());
        } else facts.enums.set(m[2], { dbName: m[2], values: new Set() });
      }
      continue;
    }
    if (line === "}") {
      block = null;
      continue;
    }
    if (!line) continue;
    const map = attributeArgs(line, line.startsWith("@@") ? "@@map" : "@map");
    const mapped = map ? (JSON.parse(map.replace(/^name:\s*/, "")) as string) : undefined;
    if (block.kind === "enum") {
      const e = facts.enums.get(block.name)!;
      if (line.startsWith("@@")) {
        if (mapped) e.dbName = mapped;
      } else e.values.add(/^(\w+)/.exec(line)![1]);
      continue;
    }
    if (line.startsWith("@@")) {
      if (mapped) facts.tables.set(block.name, mapped);
      continue;
    }
    const f = /^(\w+)\s+\S+/.exec(line);
    if (!f) continue;
    const def = attributeArgs(line, "@default");
    const native = /@db\.(\w+(\([^)]*\))?)/.exec(line)?.[1];
    facts.columns.get(block.name)!.set(f[1], {
      column: mapped ?? f[1],
      default: def === undefined ? undefined : parseDefault(def, `${block.name}.${f[1]}`),
      native,
    });
  }
  return facts;
}

const modelCache = new Map<Provider, Map<string, ModelInfo>>();

/** Column layout of every model, from the generated datamodel plus the schema's default expressions. */
export function modelInfos(provider: Provider): Map<string, ModelInfo> {
  const cached = modelCache.get(provider);
  if (cached) return cached;
  const facts = parseSchema(readSchema(provider).content);
  const dm = getDatamodel().datamodel.models;
  const enumValues = new Map([...facts.enums].map(([k, v]) => [k, v.values]));
  const out = new Map<string, ModelInfo>();
  for (const [name, model] of Object.entries(dm)) {
    const schemaCols = facts.columns.get(name);
    if (!schemaCols) throw new Error(`bulk insert: model ${name} is in the generated datamodel but not in the schema file`);
    const columns: ColumnInfo[] = [];
    const parents = new Set<ModelName>();
    for (const f of model.fields) {
      if (f.kind === "object") {
        if (f.relationFromFields?.length && f.type !== name) parents.add(f.type as ModelName);
        continue;
      }
      if (f.isList) throw new Error(`bulk insert: list field ${name}.${f.name} is not supported`);
      const s = schemaCols.get(f.name);
      if (!s) throw new Error(`bulk insert: field ${name}.${f.name} is not in the schema file`);
      if (f.hasDefaultValue !== (s.default !== undefined)) {
        throw new Error(`bulk insert: the schema file and the generated client disagree about the default of ${name}.${f.name}; regenerate the client`);
      }
      if (s.native && provider === "postgresql") throw new Error(`bulk insert: native type @db.${s.native} on ${name}.${f.name} is not supported`);
      columns.push({
        field: f.name,
        column: s.column,
        type: f.type,
        isEnum: f.kind === "enum",
        enumDbName: f.kind === "enum" ? (facts.enums.get(f.type)?.dbName ?? f.type) : undefined,
        isRequired: f.isRequired,
        isUpdatedAt: f.isUpdatedAt ?? false,
        default: s.default,
      });
    }
    out.set(name, {
      name: name as ModelName,
      table: facts.tables.get(name) ?? name,
      columns,
      byField: new Map(columns.map((c) => [c.field, c])),
      parents: [...parents],
      enumValues,
    });
  }
  modelCache.set(provider, out);
  return out;
}
