// Opens the SQLite file and brings its schema up to date from migrations/sqlite/ (numbered SQL files, each
// applied once, in order, inside its own transaction, and recorded in schema_migrations).
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../migrations/sqlite');

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  // WAL: readers never block the writer; NORMAL: a commit is durable against a process crash without
  // an fsync per transaction (only a power loss can take the last commits).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return db;
}

export interface AppliedMigration { version: number; name: string }

/** Applies every migration not yet recorded; returns those it applied (none on a second start). */
export function migrate(db: Db, dir = MIGRATIONS_DIR): AppliedMigration[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const done = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  const files = readdirSync(dir)
    .map((name) => ({ name, match: /^(\d+)_[\w-]+\.sql$/.exec(name) }))
    .filter((f) => f.match)
    .map((f) => ({ name: f.name, version: Number(f.match![1]) }))
    .sort((a, b) => a.version - b.version);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: AppliedMigration[] = [];
  for (const file of files) {
    if (done.has(file.version)) continue;
    const sql = readFileSync(join(dir, file.name), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      record.run(file.version, file.name, new Date().toISOString());
    })();
    applied.push({ version: file.version, name: file.name });
  }
  return applied;
}
