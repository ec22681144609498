// What keeps the embedded store honest when its disk or its file fails under it:
// - a full disk (SQLITE_FULL) is a StoreFullError, and the first one releases a reserve file kept beside
//   the database, so that deletes, and the failure of the job that hit the wall, can still be written;
// - a database file deleted or replaced while the service runs is noticed (its inode is watched), and
//   from then on every write is refused as unavailable rather than acknowledged into an unlinked file.
import { closeSync, existsSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreFullError, StoreUnavailableError } from '../errors.js';

/** At most this much, and at most a twentieth of the free space when the store opens. */
const RESERVE_BYTES = 32 * 1024 * 1024;
/** Methods that may free space: on a full disk they get one more try once the reserve is released. */
const FREEING = new Set(['delete', 'fail', 'cancel', 'removeAlias', 'remove']);
/** Methods that only read: they go on whatever happened to the file. */
const READS = new Set(['get', 'list', 'data', 'checkpoint', 'runtimeMs', 'epochs', 'resolve', 'bytes', 'evaluations', 'live']);

export function createGuard(path: string, onEvent: (what: string) => void = () => {}) {
  const reserve = `${path}.reserve`;
  const inode = statSync(path).ino;
  let lost: string | null = null;
  // Kept only where there is room for it; a disk already too full to hold it starts without one.
  if (!existsSync(reserve)) {
    try {
      const { bavail, bsize } = statfsSync(dirname(path));
      const bytes = Math.min(RESERVE_BYTES, Math.floor((bavail * bsize) / 20));
      const fd = openSync(reserve, 'w');
      try { writeSync(fd, Buffer.alloc(bytes)); } finally { closeSync(fd); }
    } catch {
      try { unlinkSync(reserve); } catch { /* never made */ }
    }
  }
  const watch = setInterval(() => {
    let now: number | null = null;
    try { now = statSync(path).ino; } catch { /* gone */ }
    if (now !== inode && lost === null) {
      lost = now === null ? 'was deleted' : 'was replaced by another file';
      onEvent(`the database file ${path} ${lost} while the service ran: writes are refused from now on; restart the service`);
    }
  }, 1000);
  watch.unref();

  function release(): boolean {
    if (!existsSync(reserve)) return false;
    try { unlinkSync(reserve); } catch { return false; }
    onEvent(`the disk is full: released the reserve kept beside ${path}, so that space can be freed`);
    return true;
  }

  const isFull = (err: unknown) => (err as { code?: string }).code === 'SQLITE_FULL';

  /** The same store object, each method refusing writes on a lost file and mapping a full disk. */
  function wrap<T extends object>(store: T): T {
    const out: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(store)) {
      if (typeof method !== 'function') { out[name] = method; continue; }
      out[name] = async (...args: unknown[]) => {
        if (lost !== null && !READS.has(name)) throw new StoreUnavailableError(new Error(`the database file ${lost}`));
        try {
          return await method.apply(store, args);
        } catch (err) {
          if (!isFull(err)) throw err;
          if (release() && FREEING.has(name)) {
            try { return await method.apply(store, args); } catch (again) { if (!isFull(again)) throw again; }
          }
          throw new StoreFullError(path, err);
        }
      };
    }
    return out as T;
  }

  return { wrap, healthy: () => lost === null, close: () => clearInterval(watch) };
}
