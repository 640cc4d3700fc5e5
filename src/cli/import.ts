import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Command, Option } from "commander";
import { loadConfig } from "../config.js";
import { NotFoundError } from "../engine/errors.js";
import { conflictLines, problemLines } from "./problems.js";
import { importArchive, previewArchive } from "../engine/import/service.js";
import type { KindPlanCounts } from "../engine/import/types.js";
import { openRuntime } from "../runtime.js";
import { progressReporter } from "./progress.js";
import { textTable } from "./table.js";

interface ImportCliOptions {
  user: string;
  mode: "skip" | "overwrite";
  preview: boolean;
  lenient: boolean;
  json: boolean;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function table(counts: Partial<Record<string, KindPlanCounts>>): string {
  return textTable(
    ["kind", "create", "update", "skip", "remap"],
    Object.entries(counts).map(([kind, c]) => [kind, c!.create, c!.update, c!.skip, c!.remap]),
  );
}

export function importCommand(): Command {
  return new Command("import")
    .description("import an archive into a user's account, straight on the database (no server needed); all or nothing")
    .argument("<file>", "a native ZIP, or JSONL (plain or gzip, native or FOVEA)")
    .requiredOption("--user <email>", "the account to import into")
    .addOption(new Option("--mode <mode>", "records you already have (same id)").choices(["skip", "overwrite"]).default("skip"))
    .option("--preview", "print the conflict report and what would happen; write nothing", false)
    .option("--lenient", "skip malformed lines with a warning instead of failing", false)
    .option("--json", "print the result as JSON", false)
    .action(async (file: string, o: ImportCliOptions) => {
      // one import, then the process ends: no spare worker process to start for a next one
      const rt = await openRuntime({ config: { ...loadConfig(), spareWorkerSeconds: 0 } });
      try {
        const user = await rt.db.user.findUnique({ where: { email: o.user.trim().toLowerCase() } });
        if (!user) throw new NotFoundError(`no user with email ${o.user}`);
        const archive = { path: file, filename: basename(file), byteSize: (await stat(file)).size, sha256: await sha256(file) };
        const options = { mode: o.mode.toUpperCase() as "SKIP" | "OVERWRITE", strict: !o.lenient, resolutions: [] };
        if (o.preview) {
          const progress = progressReporter("previewing", "records", o.json);
          let previewed;
          try {
            previewed = await previewArchive(rt, archive, user.id, options, (d, t) => progress.update(d, t));
          } finally {
            progress.stop();
          }
          const { plan, format } = previewed;
          if (o.json) {
            console.log(JSON.stringify({ format, exporter: { userId: plan.exporterUserId, crossUser: plan.crossUser }, counts: plan.counts, conflicts: plan.conflicts, conflictCount: plan.conflictTotal, conflictGroups: plan.conflictGroups, warnings: plan.warnings, problemCount: plan.problemCount, problemGroups: plan.problemGroups }));
            return;
          }
          console.log(`${archive.filename}: ${format}, ${plan.records} records${plan.crossUser ? `, exported by another user (${plan.exporterUserId}): every id is regenerated` : ""}`);
          console.log(table(plan.counts));
          console.log(`\n${plan.conflictTotal} conflict(s)${plan.conflictTotal ? ":" : ""}`);
          for (const l of conflictLines(plan.conflictGroups, plan.conflicts)) console.log(l);
          if (plan.problemCount) console.log(`\n${plan.problemCount} malformed line(s), skipped:\n${problemLines(plan.problemGroups).join("\n")}`);
          for (const w of plan.warnings.slice(0, 50)) console.log(`  warning: ${w}`);
          return;
        }
        const progress = progressReporter("importing", "records", o.json);
        const started = performance.now();
        let result;
        try {
          result = await importArchive(rt, { requesterId: user.id, targetUserId: user.id, file: archive, options, onProgress: (d, t) => progress.update(d, t) });
        } finally {
          progress.stop();
        }
        if (result.error) throw result.error;
        const elapsedMs = Math.round(performance.now() - started);
        const { counts, warnings, conflicts, conflictGroups } = result.outcome!;
        if (o.json) console.log(JSON.stringify({ record: result.record.id, status: result.record.status, counts, conflictCount: conflicts, conflictGroups, warnings, elapsedMs }));
        else {
          console.log(table(counts));
          if (conflicts) console.log(`\n${conflicts} conflict(s), resolved:\n${conflictLines(conflictGroups, []).join("\n")}\n`);
          console.log(`imported ${archive.filename} into ${user.email} in ${(elapsedMs / 1000).toFixed(1)}s (history record ${result.record.id})`);
        }
      } finally {
        await rt.close();
      }
    });
}
