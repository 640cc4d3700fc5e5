// `npm run bench -- <command> [flags]`: benchmarks that report, never gate (exit 0
// unless the benchmark itself breaks).
//
//   export   streaming export vs a driver-level baseline, 10k/100k/1M records
//            (see bench/export.ts for flags)
//   import   preview and import of an archive vs a driver-level insert baseline,
//            10k/100k/1M records (see bench/import.ts for flags)
import { parseArgs } from "./args.js";

const USAGE = `usage: npm run bench -- <command> [flags]

commands:
  export [--scales 10000,100000,1000000] [--databases sqlite,postgresql] [--measures baseline,export]
         [--repeat N] [--profile] [--phases] [--variants "simplify,tree=byParent,lean"]
         [--bundle] [--warm-export] [--cold] [--node-flags=...] [--reseed]
         (flags: see bench/export.ts; PostgreSQL too when DATABASE_URL=postgresql://...)
  import [--scales 10000,100000,1000000] [--measures baseline,preview,import] [--repeat N] [--profile]
         [--cold] [--node-flags=...] [--reseed]   (SQLite; flags: see bench/import.ts)`;

const args = parseArgs(process.argv.slice(2));
const command = args.positional[0];

switch (command) {
  case "export": {
    const { runExportBench } = await import("./export.js");
    await runExportBench(args);
    break;
  }
  case "import": {
    const { runImportBench } = await import("./import.js");
    await runImportBench(args);
    break;
  }
  default:
    console.error(command ? `unknown bench command: ${command}\n\n${USAGE}` : USAGE);
    process.exitCode = 2;
}
