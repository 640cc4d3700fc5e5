// One JSONL line → `{type, data}`: JSON without prototype keys, the envelope
// checked, FOVEA's discriminators mapped to our kind names, and the format
// version of a metadata line pinned.
import { UnsupportedFormatVersionError } from "../errors.js";
import { SUPPORTED_VERSIONS } from "./format.js";
import type { RawLine } from "./line-splitter.js";

export type ParsedLine =
  | {
      ok: true;
      line: number;
      /** our kind name (or "metadata", or an unknown type as written) */
      type: string;
      /** the type as the file wrote it (FOVEA's `entity` for `worldEntity`) */
      sourceType: string;
      data: Record<string, unknown>;
    }
  /** `group`: what the message says of every line with this fault, when it also names this line's own (LineProblem) */
  | { ok: false; line: number; kind: string | null; message: string; group?: string };

interface Alias {
  type: string;
  memberKind?: "entity" | "event" | "time";
}

/** FOVEA's line types (as its code emits them and as its docs name them) → ours. */
export const TYPE_ALIASES: ReadonlyMap<string, Alias> = new Map<string, Alias>([
  ["entity", { type: "worldEntity" }],
  ["event", { type: "worldEvent" }],
  ["time", { type: "worldTime" }],
  ["location", { type: "worldLocation" }],
  ["entity_collection", { type: "worldCollection", memberKind: "entity" }],
  ["event_collection", { type: "worldCollection", memberKind: "event" }],
  ["time_collection", { type: "worldCollection", memberKind: "time" }],
  ["entityCollection", { type: "worldCollection", memberKind: "entity" }],
  ["eventCollection", { type: "worldCollection", memberKind: "event" }],
  ["timeCollection", { type: "worldCollection", memberKind: "time" }],
  ["relation", { type: "worldRelation" }],
  ["summary", { type: "videoSummary" }],
  ["claim_relation", { type: "claimRelation" }],
]);

/** Our name for a line type; unknown types come back unchanged. */
export function canonicalType(type: string): string {
  return TYPE_ALIASES.get(type)?.type ?? type;
}

const PROTO_ESCAPE = /\\u00(?:5[fF]|7[024]|6[fF])/;
const dropProto = (key: string, value: unknown) => (key === "__proto__" ? undefined : value);

/**
 * JSON.parse that drops every `__proto__` key, at any depth, so no later
 * Object.assign or merge can reach a prototype through the parsed value.
 */
export function parseJson(text: string): unknown {
  // the reviver costs; only text that could spell the key needs it: literally, or
  // with a \u escape of one of its letters (_ p r o t)
  if (!text.includes("__proto__") && !(text.includes("\\u00") && PROTO_ESCAPE.test(text))) return JSON.parse(text);
  return JSON.parse(text, dropProto);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function parseLine(raw: RawLine): ParsedLine {
  const { line } = raw;
  if (raw.problem) return { ok: false, line, kind: null, message: raw.problem };
  let value: unknown;
  try {
    value = parseJson(raw.text);
  } catch (e) {
    return { ok: false, line, kind: null, message: `not valid JSON: ${(e as Error).message}`, group: "not valid JSON" };
  }
  if (!isObject(value)) return { ok: false, line, kind: null, message: `a line must be a JSON object with "type" and "data", got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}` };
  const sourceType = value.type;
  if (typeof sourceType !== "string" || !sourceType) return { ok: false, line, kind: null, message: 'the line has no string "type"' };
  const type = canonicalType(sourceType);
  let data = value.data;
  if (data === undefined && type === "metadata") {
    // FOVEA's documented (legacy) flat metadata line: the fields sit next to "type"
    const { type: _t, ...rest } = value;
    data = rest;
  }
  if (!isObject(data)) return { ok: false, line, kind: type, message: `the line has no object "data"${data === undefined ? "" : `, got ${Array.isArray(data) ? "an array" : data === null ? "null" : typeof data}`}` };
  const memberKind = TYPE_ALIASES.get(sourceType)?.memberKind;
  if (memberKind && data.memberKind === undefined) data.memberKind = memberKind;
  return { ok: true, line, type, sourceType, data };
}

/** The major version of a version value (`1`, `"1"`, `"1.0"`, `"1.2.3-rc.1"` → "1"), or null when it is no version. */
export function versionMajor(version: unknown): string | null {
  if (typeof version === "number") return Number.isFinite(version) && version >= 0 ? String(Math.trunc(version)) : null;
  if (typeof version !== "string") return null;
  const m = /^\s*(\d+)(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]*)?\s*$/.exec(version);
  return m ? String(Number(m[1])) : null;
}

/** Throws UnsupportedFormatVersionError unless `version` is one of the supported major versions. Never guesses. */
export function assertSupportedVersion(version: unknown, where: string): void {
  const major = versionMajor(version);
  if (major !== null && SUPPORTED_VERSIONS.includes(major)) return;
  const shown = typeof version === "string" || typeof version === "number" ? String(version) : JSON.stringify(version) ?? String(version);
  throw new UnsupportedFormatVersionError(
    `${where} has format version ${JSON.stringify(version) ?? String(version)}; this stowage reads version ${SUPPORTED_VERSIONS.join(", ")}`,
    shown,
    [...SUPPORTED_VERSIONS],
  );
}

/** For a metadata line: its `exportVersion` (or `version`) must be a supported major version. Other lines pass. A metadata line without a version passes. */
export function assertMetadataVersion(parsed: ParsedLine): void {
  if (!parsed.ok || parsed.type !== "metadata") return;
  const version = parsed.data.exportVersion ?? parsed.data.version;
  if (version === undefined) return;
  assertSupportedVersion(version, `the metadata line (line ${parsed.line})`);
}
