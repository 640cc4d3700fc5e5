// Tiny flag parser for the bench commands: `--name value`, `--name=value`, `--flag`.
export interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) flags.set(a.slice(2), argv[++i]);
    else flags.set(a.slice(2), true);
  }
  return { positional, flags };
}

export function intList(value: string | true | undefined, fallback: number[]): number[] {
  if (value === undefined || value === true) return fallback;
  const out = value.split(",").map((s) => Number(s.trim().replace(/_/g, "").replace(/k$/i, "000").replace(/m$/i, "000000")));
  for (const n of out) if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer list: ${value}`);
  return out;
}

export function stringList(value: string | true | undefined, fallback: string[]): string[] {
  if (value === undefined || value === true) return fallback;
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}
