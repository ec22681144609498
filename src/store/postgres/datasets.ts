// The datasets table family on PostgreSQL: metadata in `datasets`, the numbers in `dataset_data` (bytea,
// sent as binary parameters).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ParsedDataset, Task } from '../../data/types.js';
import { bytesOf, datasetData } from '../blobs.js';
import type { Dataset, DatasetData, DatasetStore } from '../types.js';
import { query, transaction } from './db.js';

interface DatasetRow {
  id: string; name: string; rows: number; features: number; feature_names: string[]; target_name: string;
  task: Task; classes: (string | number)[] | null; x_type: 'u8' | 'f32'; bytes: number; created_at: string;
}

const COLUMNS = 'id, name, rows, features, feature_names, target_name, task, classes, x_type, bytes, created_at';

const toDataset = (r: DatasetRow): Dataset => ({
  id: r.id, name: r.name, rows: r.rows, features: r.features, featureNames: r.feature_names, targetName: r.target_name,
  task: r.task, classes: r.classes, bytes: r.bytes, createdAt: r.created_at,
});



export function createDatasetStore(pool: pg.Pool): DatasetStore {
  return {
    async create(name: string, d: ParsedDataset) {
      const y = d.task === 'classification' ? d.labels! : d.targets!;
      const row: DatasetRow = {
        id: randomUUID(), name, rows: d.rows, features: d.features, feature_names: d.featureNames,
        target_name: d.targetName, task: d.task, classes: d.classes, x_type: d.x instanceof Uint8Array ? 'u8' : 'f32',
        bytes: d.x.byteLength + y.byteLength, created_at: new Date().toISOString(),
      };
      await transaction(pool, async (c) => {
        await query(c, `INSERT INTO datasets (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, [
          row.id, row.name, row.rows, row.features, JSON.stringify(row.feature_names), row.target_name, row.task,
          row.classes === null ? null : JSON.stringify(row.classes), row.x_type, row.bytes, row.created_at,
        ]);
        await query(c, 'INSERT INTO dataset_data (dataset_id, x, y, mean, std) VALUES ($1, $2, $3, $4, $5)',
          [row.id, bytesOf(d.x), bytesOf(y), bytesOf(d.mean), bytesOf(d.std)]);
      });
      return toDataset(row);
    },
    async get(id) {
      const { rows } = await query<DatasetRow>(pool, `SELECT ${COLUMNS} FROM datasets WHERE id = $1`, [id]);
      return rows[0] ? toDataset(rows[0]) : null;
    },
    async list(limit, offset) {
      const page = await query<DatasetRow>(pool, `SELECT ${COLUMNS} FROM datasets ORDER BY created_at DESC, seq DESC LIMIT $1 OFFSET $2`, [limit, offset]);
      const count = await query<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM datasets');
      return { items: page.rows.map(toDataset), total: count.rows[0].n };
    },
    async data(id): Promise<DatasetData | null> {
      const { rows } = await query<{ x_type: 'u8' | 'f32'; task: Task; x: Buffer; y: Buffer; mean: Buffer; std: Buffer }>(pool,
        'SELECT d.x_type, d.task, b.x, b.y, b.mean, b.std FROM datasets d JOIN dataset_data b ON b.dataset_id = d.id WHERE d.id = $1', [id]);
      const r = rows[0];
      if (!r) return null;
      return datasetData(r);
    },
    async delete(id) {
      return transaction(pool, async (c) => {
        // Locks the dataset row, so no job can be queued for it between the check and the delete.
        const found = await query(c, 'SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE', [id]);
        if (found.rowCount === 0) return 'not_found' as const;
        const active = await query<{ n: number }>(c,
          "SELECT count(*)::int AS n FROM jobs WHERE dataset_id = $1 AND status IN ('queued', 'running')", [id]);
        if (active.rows[0].n > 0) return 'in_use' as const;
        await query(c, 'DELETE FROM datasets WHERE id = $1', [id]);
        return 'deleted' as const;
      });
    },
  };
}
