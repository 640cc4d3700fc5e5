import { createPubSub } from "graphql-yoga";

export interface JobProgress {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "EXPIRED";
  recordsWritten: number;
  recordsTotal: number;
}

// In-process fan-out; the scale path puts Redis behind the same interface.
export type ProgressPubSub = ReturnType<typeof createProgressPubSub>;

export function createProgressPubSub() {
  return createPubSub<{
    exportProgress: [jobId: string, progress: JobProgress];
    importProgress: [recordId: string, progress: JobProgress];
  }>();
}

export const TERMINAL = new Set<JobProgress["status"]>(["SUCCEEDED", "FAILED", "EXPIRED"]);

/** Calls `fn` at most every `ms`, always letting the last call through when flushed. */
export function throttle<A extends unknown[]>(ms: number, fn: (...args: A) => void) {
  let last = 0;
  let pending: A | null = null;
  return {
    call(...args: A) {
      const now = Date.now();
      if (now - last >= ms) {
        last = now;
        pending = null;
        fn(...args);
      } else pending = args;
    },
    flush() {
      if (pending) fn(...pending);
      pending = null;
    },
  };
}

/**
 * A progress subscription: `current` (read after subscribing, so no event is
 * missed in between; null when it has not started) and then the events,
 * ending with the first terminal state.
 */
export async function* followProgress(events: AsyncIterableIterator<JobProgress>, current: () => Promise<JobProgress | null>): AsyncGenerator<JobProgress> {
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
