import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

/**
 * Progress on stderr: a bar on a terminal; off a terminal a line every ~10%
 * (or nothing when `quiet`, e.g. with --json), so logs stay readable.
 */
export function progressReporter(verb: string, unit: string, quiet = false): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${verb} |{bar}| {percentage}% | {value}/{total} ${unit} | {label}`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, label = "") {
        if (!started) {
          bar.start(Math.max(total, 1), 0, { label });
          started = true;
        }
        if (total !== bar.getTotal() || done > bar.getTotal()) bar.setTotal(Math.max(total, done, 1));
        bar.update(done, { label });
      },
      stop: () => started && bar.stop(),
    };
  }
  if (quiet) return { update() {}, stop() {} };
  let next = 0.1;
  return {
    update(done, total) {
      if (total && done >= total * next) {
        process.stderr.write(`${verb} ${done}/${total} ${unit} (${Math.min(100, Math.floor((done / total) * 100))}%)\n`);
        while (done >= total * next) next += 0.1;
      }
    },
    stop() {},
  };
}
