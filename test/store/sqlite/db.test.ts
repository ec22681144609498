import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../../src/store/sqlite/db.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'db-test-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('openDatabase and migrate', () => {
  it('applies every migration once, in order, and nothing on a second start', () => {
    const path = join(tmp(), 'service.db');
    const first = openDatabase(path);
    const applied = migrate(first);
    expect(applied.map((m) => m.version)).toEqual([...applied.map((m) => m.version)].sort((a, b) => a - b));
    expect(applied[0]).toMatchObject({ version: 1, name: '001_initial.sql' });
    first.close();

    const second = openDatabase(path);
    expect(migrate(second)).toEqual([]);
    const recorded = second.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(recorded).toEqual(applied.map((m) => m.version));
    second.close();
  });

  it('runs in WAL mode with foreign keys on', () => {
    const db = openDatabase(join(tmp(), 'service.db'));
    migrate(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    expect(() => db.prepare("INSERT INTO dataset_data (dataset_id, x, y, mean, std) VALUES ('nope', x'', x'', x'', x'')").run())
      .toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('rolls a failing migration back whole and records nothing for it', () => {
    const dir = tmp();
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(migrations, '002_bad.sql'), 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);');
    const db = openDatabase(join(dir, 'service.db'));
    expect(() => migrate(db, migrations)).toThrow(/nowhere/);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toContain('a');
    expect(tables).not.toContain('b');
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
    db.close();
  });
});
