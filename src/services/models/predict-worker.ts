// The prediction pool's worker: large batches run here, off the event loop. A row too large for the
// model comes back as a value (an error's class does not cross threads).
import { createPredictor, decodeModel, EngineError } from '../../engine/index.js';

export interface PredictTask { model: Uint8Array; x: Float32Array; rows: number }
export type PredictResult = { out: Float32Array } | { refused: { field: string | null; message: string } };

export default function predict(task: PredictTask): PredictResult {
  try {
    return { out: createPredictor(decodeModel(task.model)).predict(task.x, task.rows) };
  } catch (err) {
    if (err instanceof EngineError && err.code === 'invalid_data') return { refused: { field: err.field, message: err.message } };
    throw err;
  }
}
