// Shapes a stored dataset into what the engine trains on, following the job's spec.
import type { TrainingData } from '../../engine/types.js';
import type { DatasetData } from '../../store/types.js';

export function trainingData(
  d: DatasetData, rows: number, features: number, standardize: boolean,
): TrainingData {
  let targetMean: Float32Array | null = null;
  let targetStd: Float32Array | null = null;
  if (d.targets) {
    // Regression targets always train standardised; errors are reported in the uploaded units.
    let sum = 0;
    for (let i = 0; i < rows; i++) sum += d.targets[i];
    const mean = sum / rows;
    let sq = 0;
    for (let i = 0; i < rows; i++) sq += (d.targets[i] - mean) ** 2;
    const std = Math.sqrt(sq / rows);
    targetMean = Float32Array.of(mean);
    targetStd = Float32Array.of(std > 0 ? std : 1);
  }
  return {
    rows, features, x: d.x,
    mean: standardize ? d.mean : null,
    std: standardize ? d.std : null,
    labels: d.labels, targets: d.targets, targetMean, targetStd,
  };
}
