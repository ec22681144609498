// The prediction pool's worker: large batches run here, off the event loop.
import { createPredictor, decodeModel } from '../../engine/index.js';

export interface PredictTask { model: Uint8Array; x: Float32Array; rows: number }

export default function predict(task: PredictTask): Float32Array {
  return createPredictor(decodeModel(task.model)).predict(task.x, task.rows);
}
