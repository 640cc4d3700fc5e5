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
