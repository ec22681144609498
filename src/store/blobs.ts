// Blobs as both backends store them: typed arrays written as their bytes, read back into fresh,
// aligned arrays (a driver's Buffer may sit at any offset of a shared pool).
import type { Task } from '../data/types.js';
import type { DatasetData } from './types.js';

export const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function typed<T extends Float32Array | Int32Array | Uint8Array>(blob: Buffer, make: new (buffer: ArrayBuffer) => T): T {
  const copy = new ArrayBuffer(blob.byteLength);
  new Uint8Array(copy).set(blob);
  return new make(copy);
}

/** A dataset's numbers from its stored row. */
export function datasetData(r: { x_type: 'u8' | 'f32'; task: Task; x: Buffer; y: Buffer; mean: Buffer; std: Buffer }): DatasetData {
  return {
    x: r.x_type === 'u8' ? typed(r.x, Uint8Array) : typed(r.x, Float32Array),
    labels: r.task === 'classification' ? typed(r.y, Int32Array) : null,
    targets: r.task === 'regression' ? typed(r.y, Float32Array) : null,
    mean: typed(r.mean, Float32Array),
    std: typed(r.std, Float32Array),
  };
}
