// The connection pool, queries and transactions that map a lost connection to StoreUnavailableError,
// and the migrations of migrations/postgres/, applied under an advisory lock so that nodes starting
// together do not race.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { StoreUnavailableError } from '../errors.js';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../migrations/postgres');
/** Any constant: every node takes the same advisory lock while it migrates. */
const MIGRATION_LOCK = 7_463_120_011;

// BIGINT and BIGSERIAL as numbers: counts, sizes and runtimes stay far below 2⁵³.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Connection-level failures (refused, reset, terminated, the server shutting down): worth a retry. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/.test(e.code)) return true;
    if (/^(08|57P0)/.test(e.code)) return true; // connection exception; admin/crash shutdown, cannot connect now
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
}

export const unavailable = (err: unknown) =>
  (isUnavailable(err) ? new StoreUnavailableError(err as Error) : err);

export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not take the process down; the next query reports it.
  pool.on('error', () => {});
  return pool;
}

export async function query<R extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (err) {
    throw unavailable(err);
  }
}

/** Runs `work` in one transaction on one client; rolls back on any error. */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw unavailable(err);
  }
  // A connection lost between two statements is reported on the client itself, not on a query: this
  // handler keeps it from being an uncaught error (the next statement fails and rolls back).
  const ignore = () => {};
  client.on('error', ignore);
  try {
    await query(client, 'BEGIN');
    const result = await work(client);
    await query(client, 'COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw unavailable(err);
  } finally {
    client.off('error', ignore);
    client.release();
  }
}

export interface AppliedMigration { version: number; name: string }

/** Applies every migration not yet recorded, each in its own transaction, holding the advisory lock. */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<AppliedMigration[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const files = readdirSync(dir)
      .map((name) => ({ name, match: /^(\d+)_[\w-]+\.sql$/.exec(name) }))
      .filter((f) => f.match)
      .map((f) => ({ name: f.name, version: Number(f.match![1]) }))
      .sort((a, b) => a.version - b.version);
    const applied: AppliedMigration[] = [];
    for (const file of files) {
      if (done.has(file.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(join(dir, file.name), 'utf8'));
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [file.version, file.name, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push({ version: file.version, name: file.name });
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
