// The models service: models as stored, predictions and evaluations. Small batches run on the event
// loop from a cache of loaded models, large ones in a separate prediction pool so that they never
// wait behind a training job.
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import {
  createPredictor, decodeModel, EngineError, exportJson, exportOnnx, regressionScores as scoreRegression, type Model, type Predictor,
} from '../../engine/index.js';
import { randomUUID } from 'node:crypto';
import type { Evaluation, ModelInfo, Page, Store } from '../../store/types.js';
import { parseFeatureTable } from '../../data/table.js';
import { errors } from '../errors.js';
import { workerPath } from '../worker-path.js';
import type { PredictResult, PredictTask } from './predict-worker.js';
import { classify, values } from './shape.js';

export type { ModelInfo };

export type Prediction = { label: string | number; probabilities: number[] } | { value: number };
/** One row to predict: its values in the model's column order, or keyed by feature name. */
export type Instance = number[] | Record<string, number>;

interface Loaded { info: ModelInfo; bytes: Uint8Array; model: Model; predictor: Predictor }

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

  /**
   * The model a reference names: an id, `name` (latest version), `name@version` or `name@alias`. An id
   * already loaded is served from the cache; a name is resolved afresh each time, so a moved alias
   * takes effect at once, and the model it names is whole before any request uses it.
   */
  async function load(ref: string): Promise<Loaded> {
    const cached = cache.get(ref);
    if (cached) return touch(ref, cached);
    const id = await store.models.resolve(ref);
    if (!id) throw errors.notFound('model', ref);
    return loadId(id);
  }

  function touch(id: string, hit: Loaded): Loaded {
    cache.delete(id); // re-insert: Map order is our LRU order
    cache.set(id, hit);
    return hit;
  }

  async function loadId(id: string): Promise<Loaded> {
    const hit = cache.get(id);
    if (hit) return touch(id, hit);
    const info = await store.models.get(id);
    const bytes = info && await store.models.bytes(id);
    if (!info || !bytes) throw errors.notFound('model', id);
    const model = decodeModel(bytes);
    const loaded = { info, bytes, model, predictor: createPredictor(model) };
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

  function checkRows(rows: number): void {
    if (rows === 0) throw errors.invalidInput('instances is empty: send at least one row', { field: 'instances' });
    if (rows > config.maxPredictRows) {
      throw errors.invalidInput(`instances has ${rows} rows; at most ${config.maxPredictRows} per request (MAX_PREDICT_ROWS)`, { field: 'instances' });
    }
  }

  /** Checks and packs instances (raw feature units, as arrays in column order or objects keyed by
   *  feature name) into one row-major Float32Array. */
  function pack(info: ModelInfo, instances: Instance[]): Float32Array {
    checkRows(instances.length);
    const x = new Float32Array(instances.length * info.features);
    let column: Map<string, number> | undefined; // built only for rows keyed by name
    instances.forEach((instance, i) => {
      let row: ArrayLike<number>;
      if (Array.isArray(instance)) {
        if (instance.length !== info.features) {
          throw errors.invalidInput(`instances[${i}] has ${instance.length} values; the model expects ${info.features} (${info.featureNames.slice(0, 5).join(', ')}${info.features > 5 ? ', …' : ''})`,
            { field: `instances[${i}]`, expected: info.features, actual: instance.length });
        }
        row = instance;
      } else {
        column ??= new Map(info.featureNames.map((name, j) => [name, j]));
        const keys = Object.keys(instance);
        const unknown = keys.filter((k) => !column!.has(k));
        const missing = info.featureNames.filter((name) => !Object.prototype.hasOwnProperty.call(instance, name));
        if (unknown.length > 0 || missing.length > 0) {
          const parts = [
            unknown.length > 0 ? `unknown feature(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}` : '',
            missing.length > 0 ? `missing feature(s) ${missing.map((m) => JSON.stringify(m)).join(', ')}` : '',
          ].filter(Boolean);
          throw errors.invalidInput(`instances[${i}]: ${parts.join('; ')}; the model takes ${info.featureNames.join(', ')}`,
            { field: `instances[${i}]`, unknown, missing });
        }
        row = info.featureNames.map((name) => instance[name]);
      }
      const at = i * info.features;
      for (let j = 0; j < info.features; j++) x[at + j] = row[j]; // rounds to float32: ±∞ past its range
      for (let j = 0; j < info.features; j++) {
        if (!Number.isFinite(x[at + j])) {
          const cell = Array.isArray(instance) ? `instances[${i}][${j}]` : `instances[${i}].${info.featureNames[j]}`;
          throw errors.invalidInput(`${cell} is ${row[j]}: values must be finite and within float32 range (±3.4e38)`, { field: cell });
        }
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
    /**
     * The most bytes a body of rows for this model can need: MAX_PREDICT_ROWS rows of its features, each
     * value written out at its longest (a float's 24 characters and a separator), as JSON or CSV.
     */
    async maxBodyBytes(ref: string): Promise<number> {
      const m = await load(ref);
      return config.maxPredictRows * (m.info.features * 25 + 16) + 64 * 1024;
    },
    /** The model as stored now (its aliases move); not_found for an unknown reference. */
    async get(ref: string): Promise<ModelInfo> {
      const id = await store.models.resolve(ref);
      const info = id && await store.models.get(id);
      if (!info) throw errors.notFound('model', ref);
      return info;
    },
    list: (limit: number, offset: number, name?: string): Promise<Page<ModelInfo>> => store.models.list(limit, offset, name),
    async delete(ref: string): Promise<void> {
      const id = await store.models.resolve(ref);
      const outcome = id ? await store.models.delete(id) : 'not_found';
      if (outcome === 'not_found') throw errors.notFound('model', ref);
      if (outcome === 'aliased') {
        const info = await store.models.get(id!);
        throw errors.conflict('model_aliased', `model ${ref} is ${info?.name}@${info?.version}, which the alias(es) ${info?.aliases.join(', ')} point at: move or delete them first`);
      }
      cache.delete(id!);
      await store.bus.publish(DELETED, { id }).catch(() => { /* other nodes keep it until their cache drops it */ });
    },
    /** Points name@alias at a version, atomically: predictions through the alias switch at once. */
    async setAlias(name: string, alias: string, version: number): Promise<{ name: string; alias: string; version: number }> {
      if (await store.models.setAlias(name, alias, version) === 'no_version') {
        throw errors.notFound('model version', `${name}@${version}`);
      }
      return { name, alias, version };
    },
    async removeAlias(name: string, alias: string): Promise<void> {
      if (!await store.models.removeAlias(name, alias)) throw errors.notFound('alias', `${name}@${alias}`);
    },
    /**
     * Raw outputs for the V2 protocol: probabilities (or values) as a flat rows × k array. The reference is
     * resolved once, and `prepare` reads the request against that very model.
     */
    async raw(ref: string, prepare: (info: ModelInfo) => { x: Float32Array; rows: number }):
      Promise<{ info: ModelInfo; out: Float32Array; rows: number }> {
      const m = await load(ref);
      const { x, rows } = prepare(m.info);
      return { info: m.info, rows, out: await outputs(m, x, rows, (row, why) => errors.invalidTensor(`inputs[0] row ${row}`, why)) };
    },
    /**
     * The model out of the service: ONNX (float32 input [N, features] in raw units, standardisation
     * included; output probabilities [N, k] or value [N, 1]; opset 13), or JSON (weights and preprocessing,
     * the layout in src/engine/export/json.ts). With the file name a download should take.
     */
    async export(ref: string, format: 'onnx' | 'json'): Promise<{ filename: string; onnx?: Uint8Array; json?: unknown }> {
      const m = await load(ref);
      const base = m.info.name ? `${m.info.name}-v${m.info.version}` : `model-${m.info.id}`;
      return format === 'onnx'
        ? { filename: `${base}.onnx`, onnx: exportOnnx(m.model) }
        : { filename: `${base}.json`, json: { ...exportJson(m.model), model: { id: m.info.id, name: m.info.name, version: m.info.version } } };
    },
    /** Predictions for rows in raw units, with the model's classes (the order of every probabilities array). */
    async predict(ref: string, instances: Instance[]): Promise<{ model: ModelInfo; predictions: Prediction[] }> {
      const m = await load(ref);
      const x = pack(m.info, instances);
      const out = await outputs(m, x, instances.length,
        (row, why) => errors.invalidInput(`instances[${row}] ${why}`, { field: `instances[${row}]` }));
      return { model: m.info, predictions: shape(m.info, out, instances.length) };
    },
    /** The same for a CSV table whose header names the model's features, in any order. */
    async predictCsv(ref: string, csv: string): Promise<{ model: ModelInfo; predictions: Prediction[] }> {
      const m = await load(ref);
      const { rows, x } = parseFeatureTable(csv, m.info.featureNames);
      checkRows(rows);
      const out = await outputs(m, x, rows,
        (row, why) => errors.invalidInput(`CSV line ${row + 2} ${why}`, { line: row + 2 }));
      return { model: m.info, predictions: shape(m.info, out, rows) };
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
      const scores = m.info.task === 'regression'
        ? regressionScores(out, data.targets!, meta.rows)
        : classificationScores(m.info, out, data.labels!, meta.rows, meta.classes!);
      // Kept with the model, so its page can show the latest one.
      await store.models.addEvaluation(m.info.id, { id: randomUUID(), datasetId, at: new Date().toISOString(), scores });
      return scores;
    },
    /** Every stored evaluation of the model, newest first. */
    async evaluations(ref: string): Promise<Evaluation[]> {
      const id = await store.models.resolve(ref);
      if (!id) throw errors.notFound('model', ref);
      return store.models.evaluations(id);
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
