// Names the buffers a trainer or predictor needs and reserves them all with one arena() call, so a
// WebAssembly kernel can place every one of them in its linear memory.

/** A request: one length per named buffer, or a list of lengths for a per-layer family of buffers. */
export type ArenaRequest = Record<string, number | readonly number[]>;
export type ArenaViews<T, R extends ArenaRequest> = { [K in keyof R]: R[K] extends number ? T : T[] };

/** Calls alloc once with every length, in the request's key order, and hands the views back by name. */
export function reserve<T, R extends ArenaRequest>(alloc: (lengths: number[]) => T[], request: R): ArenaViews<T, R> {
  const lengths: number[] = [];
  for (const want of Object.values(request)) {
    if (typeof want === 'number') lengths.push(want);
    else lengths.push(...want);
  }
  const views = alloc(lengths);
  let next = 0;
  const named: Record<string, T | T[]> = {};
  for (const [key, want] of Object.entries(request)) {
    named[key] = typeof want === 'number' ? views[next++] : want.map(() => views[next++]);
  }
  return named as ArenaViews<T, R>;
}
