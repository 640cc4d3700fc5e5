import { createPubSub } from "graphql-yoga";

export interface JobProgress {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "EXPIRED";
  recordsWritten: number;
  recordsTotal: number;
}

/** A preview of a staged upload, as it decides the archive's records. */
export interface PreviewProgress {
  uploadId: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED";
  recordsDecided: number;
  recordsTotal: number;
}

// In-process fan-out; the scale path puts Redis behind the same interface.
export type ProgressPubSub = ReturnType<typeof createProgressPubSub>;

export function createProgressPubSub() {
  return createPubSub<{
    exportProgress: [jobId: string, progress: JobProgress];
    importProgress: [recordId: string, progress: JobProgress];
    previewProgress: [uploadId: string, progress: PreviewProgress];
  }>();
}

export const TERMINAL = new Set<JobProgress["status"]>(["SUCCEEDED", "FAILED", "EXPIRED"]);

// kept in its own module so the export worker can throttle without loading graphql-yoga
export { throttle } from "./throttle.js";

/**
 * A progress subscription: `current` (read after subscribing, so no event is
 * missed in between; null when it has not started) and then the events,
 * ending with the first terminal state.
 */
export async function* followProgress<P extends { status: JobProgress["status"] }>(events: AsyncIterableIterator<P>, current: () => Promise<P | null>): AsyncGenerator<P> {
  try {
    const now = await current();
    if (now) {
      yield now;
      if (TERMINAL.has(now.status)) return;
    }
    for await (const event of events) {
      yield event;
      if (TERMINAL.has(event.status)) return;
    }
  } finally {
    await events.return?.();
  }
}
