import { Command, CommanderError } from "commander";
import { InvalidArchiveError, StowageError } from "../engine/errors.js";
import { problemLines } from "./problems.js";
import { migrate } from "../db/migrate.js";
import { loadConfig } from "../config.js";
import { serve } from "./serve.js";
import { usersCommand } from "./users.js";
import { exportCommand } from "./export.js";
import { importCommand } from "./import.js";
import { seedCommand } from "./seed.js";
import { tuneHeap } from "../heap.js";

tuneHeap();

const program = new Command("stowage")
  .description("Move a user's workspace data out of and into a service.")
  .showHelpAfterError()
  .exitOverride();

program.command("serve").description("serve GraphQL (and GraphiQL) over HTTP; migrates the database first").action(serve);

program
  .command("migrate")
  .description("apply pending database migrations")
  .action(async () => {
    const config = loadConfig();
    const applied = await migrate(config.database);
    console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
  });

program.addCommand(usersCommand());
program.addCommand(exportCommand());
program.addCommand(importCommand());
program.addCommand(seedCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // a user's mistake reads as one line; anything else keeps its stack for a bug report
  if (err instanceof StowageError || (err instanceof Error && /^(--|invalid configuration)/.test(err.message))) {
    console.error(`error: ${err.message}`);
    // the message names the first line; the rest, by fault
    if (err instanceof InvalidArchiveError && err.problemCount > 1) for (const l of problemLines(err.problemGroups)) console.error(l);
    process.exit(1);
  }
  throw err;
}
