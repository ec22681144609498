// What an exported model says about itself beyond its numbers: the task, and the class labels and
// feature names the service keeps in the model's meta (read leniently: meta is the service's JSON,
// and a model without it still exports, just without names).
import type { Model } from '../model.js';

export type ExportTask = 'classification' | 'regression';

export interface ExportDescription {
  task: ExportTask;
  /**
   * Classification with one sigmoid output unit: the unit is p(class 1), and the exports give the
   * two probabilities (1 − p, p), as /v1/predict answers.
   */
  binary: boolean;
  /** Columns of the probabilities: outputs, or 2 for a binary sigmoid; 0 for regression. */
  classes: number;
  /** The class labels from meta.classes when they are that many strings, else null. */
  classLabels: string[] | null;
  /** meta.featureNames when they are one string per input, else null. */
  featureNames: string[] | null;
}

const stringsOf = (v: unknown, n: number): string[] | null =>
  Array.isArray(v) && v.length === n && v.every((s) => typeof s === 'string') ? [...v] : null;

/**
 * softmax is classification and identity regression, as the engine's validation allows only those;
 * a sigmoid output serves both, so meta.task decides, and without it the target standardisation does
 * (the service always standardises regression targets, and classification never has them).
 */
export function describeModel(model: Model): ExportDescription {
  const { network } = model;
  const meta = (typeof model.meta === 'object' && model.meta !== null ? model.meta : {}) as Record<string, unknown>;
  let task: ExportTask;
  if (network.output === 'softmax') task = 'classification';
  else if (network.output === 'identity') task = 'regression';
  else if (meta.task === 'classification' || meta.task === 'regression') task = meta.task;
  else task = model.targetMean !== null ? 'regression' : 'classification';
  const binary = task === 'classification' && network.outputs === 1;
  const classes = task === 'regression' ? 0 : binary ? 2 : network.outputs;
  return {
    task, binary, classes,
    classLabels: task === 'regression' ? null : stringsOf(meta.classes, classes),
    featureNames: stringsOf(meta.featureNames, network.inputs),
  };
}

/** 1/std as the predictor stores it (standardizer_init): a float32, 0 where std = 0. */
export function inverse_std(std: Float32Array): Float32Array {
  const inv = new Float32Array(std.length);
  for (let j = 0; j < std.length; j++) inv[j] = std[j] > 0 ? 1 / std[j] : 0;
  return inv;
}
