// The models service: models as stored, predictions and evaluations. Small batches run on the event
// loop from a cache of loaded models, large ones in a separate prediction pool so that they never
// wait behind a training job.
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import { createPredictor, decodeModel, EngineError, regressionScores as scoreRegression, type Predictor } from '../../engine/index.js';
import type { ModelInfo, Page, Store } from '../../store/types.js';
import { errors } from '../errors.js';
import { workerPath } from '../worker-path.js';
import type { PredictResult, PredictTask } from './predict-worker.js';
import { classify, values } from './shape.js';

export type { ModelInfo };

export type Prediction = { label: string | number; probabilities: number[] } | { value: number };

interface Loaded { info: ModelInfo; bytes: Uint8Array; predictor: Predictor }

const CACHE_SIZE = 32;
/** Deleting a model on one node drops it from every node's cache. */
const DELETED = 'model_deleted';

export function createModelService(deps: { config: Config; store: Store }) {
  const { config, store } = deps;
  const cache = new Map<string, Loaded>();
  const pool = new Piscina({
    filename: workerPath(import.meta.url, './predict-worker.js'), minThreads: 0, maxThreads: 1, idleTimeout: 30_000,
  });
  const unsubscribe = store.bus.subscribe(DELETED, (m) => cache.delete((m as { id: string }).id));

  async function load(id: string): Promise<Loaded> {
    const hit = cache.get(id);
    if (hit) {
      cache.delete(id); // re-insert: Map order is our LRU order
      cache.set(id, hit);
      return hit;
    }
    const info = await store.models.get(id);
    const bytes = info && await store.models.bytes(id);
    if (!info || !bytes) throw errors.notFound('model', id);
    const loaded = { info, bytes, predictor: createPredictor(decodeModel(bytes)) };
    cache.set(id, loaded);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return loaded;
  }

  /**
   * Raw model outputs, rows × outputs: inline for small batches, in the pool for large ones. A row whose
   * finite values are still too large for the model (its outputs overflow) is refused as `tooLarge(row, why)`
   * says, so each caller names it in its own terms.
   */
  async function outputs(m: Loaded, x: Float32Array, rows: number, tooLarge: (row: number, why: string) => Error): Promise<Float32Array> {
    let result: PredictResult;
    if (rows <= config.predictInlineMaxRows) {
      try {
        result = { out: m.predictor.predict(x, rows) };
      } catch (err) {
        if (!(err instanceof EngineError) || err.code !== 'invalid_data') throw err;
        result = { refused: { field: err.field, message: err.message } };
      }
    } else {
      const task: PredictTask = { model: m.bytes, x, rows };
      result = await pool.run(task) as PredictResult;
    }
    if ('out' in result) return result.out;
    const row = Number(/^x\[(\d+)\]$/.exec(result.refused.field ?? '')?.[1] ?? -1);
    if (row < 0) throw new Error(result.refused.message);
    throw tooLarge(row, result.refused.message.replace(/^row \d+ /, ''));
  }

  /** Checks and packs instances (raw feature units) into one row-major Float32Array. */
  function pack(info: ModelInfo, instances: number[][]): Float32Array {
    if (instances.length === 0) throw errors.invalidInput('instances is empty: send at least one row', { field: 'instances' });
    if (instances.length > config.maxPredictRows) {
      throw errors.invalidInput(`instances has ${instances.length} rows; at most ${config.maxPredictRows} per request (MAX_PREDICT_ROWS)`, { field: 'instances' });
    }
    const x = new Float32Array(instances.length * info.features);
    instances.forEach((row, i) => {
      if (row.length !== info.features) {
        throw errors.invalidInput(`instances[${i}] has ${row.length} values; the model expects ${info.features} (${info.featureNames.slice(0, 5).join(', ')}${info.features > 5 ? ', …' : ''})`,
          { field: `instances[${i}]`, expected: info.features, actual: row.length });
      }
      for (let j = 0; j < row.length; j++) {
        const v = Math.fround(row[j]);
        if (!Number.isFinite(v)) {
          throw errors.invalidInput(`instances[${i}][${j}] is ${row[j]}: values must be finite and within float32 range (±3.4e38)`, { field: `instances[${i}][${j}]` });
        }
        x[i * info.features + j] = v;
      }
    });
    return x;
  }

  function shape(info: ModelInfo, out: Float32Array, rows: number): Prediction[] {
    if (info.task === 'regression') return values(out, rows).map((value) => ({ value }));
    const { probabilities, best, classes } = classify(info, out, rows);
    const result: Prediction[] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      result[i] = { label: info.classes![best[i]], probabilities: Array.from(probabilities.subarray(i * classes, (i + 1) * classes)) };
    }
    return result;
  }

  return {
    get: async (id: string) => (await load(id)).info,
    list: (limit: number, offset: number): Promise<Page<ModelInfo>> => store.models.list(limit, offset),
    async delete(id: string): Promise<void> {
      if (!await store.models.delete(id)) throw errors.notFound('model', id);
      cache.delete(id);
      await store.bus.publish(DELETED, { id }).catch(() => { /* other nodes keep it until their cache drops it */ });
    },
    /** Raw outputs for the V2 protocol: probabilities (or values) as a flat rows × k array. */
    async raw(id: string, x: Float32Array, rows: number): Promise<{ info: ModelInfo; out: Float32Array }> {
      const m = await load(id);
      return { info: m.info, out: await outputs(m, x, rows, (row, why) => errors.invalidTensor(`inputs[0] row ${row}`, why)) };
    },
    async predict(id: string, instances: number[][]): Promise<Prediction[]> {
      const m = await load(id);
      const x = pack(m.info, instances);
      const out = await outputs(m, x, instances.length,
        (row, why) => errors.invalidInput(`instances[${row}] ${why}`, { field: `instances[${row}]` }));
      return shape(m.info, out, instances.length);
    },
    async evaluate(id: string, datasetId: string) {
      const m = await load(id);
      const meta = await store.datasets.get(datasetId);
      const data = meta && await store.datasets.data(datasetId);
      if (!meta || !data) throw errors.invalidInput(`dataset ${datasetId} does not exist`, { field: 'datasetId' });
      if (meta.features !== m.info.features) {
        throw errors.invalidInput(`dataset ${datasetId} has ${meta.features} features; the model expects ${m.info.features}`, { field: 'datasetId' });
      }
      if (meta.task !== m.info.task) {
        throw errors.invalidInput(`dataset ${datasetId} is a ${meta.task} dataset; the model does ${m.info.task}`, { field: 'datasetId' });
      }
      const x = data.x instanceof Float32Array ? data.x : Float32Array.from(data.x);
      const out = await outputs(m, x, meta.rows,
        (row, why) => errors.invalidInput(`dataset ${datasetId}, row ${row}: ${why}`, { field: 'datasetId', row }));
      return m.info.task === 'regression'
        ? regressionScores(out, data.targets!, meta.rows)
        : classificationScores(m.info, out, data.labels!, meta.rows, meta.classes!);
    },
    async close(): Promise<void> {
      unsubscribe();
      await pool.destroy();
    },
  };
}

/** MSE (also the loss), MAE and R², as the per-epoch metrics define them. */
function regressionScores(out: Float32Array, targets: Float32Array, rows: number) {
  const { mse, mae, r2 } = scoreRegression(out, targets, rows, 1);
  return { rows, loss: mse, mse, mae, r2 };
}

/** Accuracy, mean cross-entropy and a confusion matrix (rows: true class, columns: predicted, both in the model's class order). */
function classificationScores(
  info: ModelInfo, out: Float32Array, labels: Int32Array, rows: number, datasetClasses: (string | number)[],
) {
  const modelClasses = info.classes!;
  const { probabilities, best, classes: k } = classify(info, out, rows);
  const index = new Map(modelClasses.map((c, i) => [String(c), i]));
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0, loss = 0, scored = 0;
  for (let i = 0; i < rows; i++) {
    const truth = index.get(String(datasetClasses[labels[i]]));
    if (truth === undefined) continue; // a class the model never saw cannot be scored
    confusion[truth][best[i]]++;
    if (best[i] === truth) correct++;
    loss -= Math.log(Math.max(probabilities[i * k + truth], 1e-12));
    scored++;
  }
  if (scored === 0) {
    throw errors.invalidInput('none of the dataset\'s labels is a class the model knows', { field: 'datasetId' });
  }
  return { rows: scored, loss: loss / scored, accuracy: correct / scored, classes: modelClasses, confusionMatrix: confusion };
}

export type ModelService = ReturnType<typeof createModelService>;
