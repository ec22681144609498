// The datasets table family: metadata in `datasets`, the numbers in `dataset_data`.
import { randomUUID } from 'node:crypto';
import type { ParsedDataset, Task } from '../../data/types.js';
import { bytesOf, datasetData } from '../blobs.js';
import type { Dataset, DatasetData, DatasetStore } from '../types.js';
import type { Db } from './db.js';

interface DatasetRow {
  id: string; name: string; rows: number; features: number; feature_names: string; target_name: string;
  task: Task; classes: string | null; x_type: 'u8' | 'f32'; bytes: number; created_at: string;
}

const COLUMNS = 'id, name, rows, features, feature_names, target_name, task, classes, x_type, bytes, created_at';

function toDataset(r: DatasetRow): Dataset {
  return {
    id: r.id, name: r.name, rows: r.rows, features: r.features,
    featureNames: JSON.parse(r.feature_names), targetName: r.target_name, task: r.task,
    classes: r.classes === null ? null : JSON.parse(r.classes), bytes: r.bytes, createdAt: r.created_at,
  };
}



export function createDatasetStore(db: Db): DatasetStore {
  const insertMeta = db.prepare(`INSERT INTO datasets (${COLUMNS}) VALUES
    (@id, @name, @rows, @features, @feature_names, @target_name, @task, @classes, @x_type, @bytes, @created_at)`);
  const insertData = db.prepare('INSERT INTO dataset_data (dataset_id, x, y, mean, std) VALUES (?, ?, ?, ?, ?)');
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM datasets WHERE id = ?`);
  const selectPage = db.prepare(`SELECT ${COLUMNS} FROM datasets ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`);
  const countAll = db.prepare('SELECT count(*) FROM datasets').pluck();
  const selectData = db.prepare(
    'SELECT d.x_type, b.x, b.y, b.mean, b.std, d.task FROM datasets d JOIN dataset_data b ON b.dataset_id = d.id WHERE d.id = ?',
  );
  const activeJobs = db.prepare(
    "SELECT count(*) FROM jobs WHERE dataset_id = ? AND status IN ('queued', 'running')",
  ).pluck();
  const deleteOne = db.prepare('DELETE FROM datasets WHERE id = ?');

  return {
    async create(name: string, d: ParsedDataset): Promise<Dataset> {
      const y = d.task === 'classification' ? d.labels! : d.targets!;
      const row: DatasetRow = {
        id: randomUUID(), name, rows: d.rows, features: d.features,
        feature_names: JSON.stringify(d.featureNames), target_name: d.targetName, task: d.task,
        classes: d.classes === null ? null : JSON.stringify(d.classes),
        x_type: d.x instanceof Uint8Array ? 'u8' : 'f32',
        bytes: d.x.byteLength + y.byteLength, created_at: new Date().toISOString(),
      };
      db.transaction(() => {
        insertMeta.run(row);
        insertData.run(row.id, bytesOf(d.x), bytesOf(y), bytesOf(d.mean), bytesOf(d.std));
      })();
      return toDataset(row);
    },
    async get(id: string): Promise<Dataset | null> {
      const r = selectOne.get(id) as DatasetRow | undefined;
      return r ? toDataset(r) : null;
    },
    async list(limit: number, offset: number) {
      return {
        items: (selectPage.all(limit, offset) as DatasetRow[]).map(toDataset),
        total: countAll.get() as number,
      };
    },
    async data(id: string): Promise<DatasetData | null> {
      const r = selectData.get(id) as
        | { x_type: 'u8' | 'f32'; x: Buffer; y: Buffer; mean: Buffer; std: Buffer; task: Task }
        | undefined;
      if (!r) return null;
      return datasetData(r);
    },
    async delete(id: string) {
      return db.transaction(() => {
        if (!selectOne.get(id)) return 'not_found' as const;
        if ((activeJobs.get(id) as number) > 0) return 'in_use' as const;
        deleteOne.run(id);
        return 'deleted' as const;
      }).immediate();
    },
  };
}
