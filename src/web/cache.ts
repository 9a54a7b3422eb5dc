// Page views must be cheap for the apiserver: however many browsers poll, the Versions are read at
// most once per `ttlMs`, and concurrent views share the read in flight.

/** `fn` whose result (or failure) is reused for `ttlMs` after it was asked for. */
export function cachedFor<T>(
  ttlMs: number,
  fn: () => Promise<T>,
  clock = () => Date.now(),
): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = clock();
    if (!last || now - last.at >= ttlMs) last = { at: now, value: fn() };
    return last.value;
  };
}
