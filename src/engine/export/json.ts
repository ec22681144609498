// A trained model as plain JSON: every number needed to predict, and the rules that join them, for
// someone who would rather write twenty lines of their own than run ONNX. No I/O: the caller
// serialises it (JSON.stringify); float32 values are widened to JS numbers, which round-trip exactly.
import { validateModel, type Model } from '../model.js';
import { paramLayout } from '../spec.js';
import type { HiddenActivation, OutputActivation } from '../types.js';
import { describeModel, inverse_std, type ExportTask } from './meta.js';
import { ONNX_PROBABILITIES, ONNX_VALUE } from './onnx.js';

export const JSON_EXPORT_FORMAT = 'mlp-service/json';
export const JSON_EXPORT_VERSION = 1;

type Activation = HiddenActivation | OutputActivation;

/**
 * The layout of format 'mlp-service/json', version 1. To predict one row x (one number per feature,
 * in featureNames' order, in the units uploaded):
 *
 *   1. z = (x − preprocessing.mean) · preprocessing.scale, feature by feature. scale is 1/std, or 0
 *      where std is 0 (a constant feature, which then counts for nothing); a model trained without
 *      standardisation has mean 0 and scale 1.
 *   2. For each entry of layers in order: a = weights·z + biases (weights is units × inputs, so
 *      a[j] = Σᵢ weights[j][i]·z[i] + biases[j]), then z = activation(a): relu max(0, a), tanh,
 *      sigmoid 1/(1 + e⁻ᵃ), identity a, softmax e^(aⱼ)/Σₖ e^(aₖ) over the layer. The last entry is
 *      the output layer; its activation is output.activation.
 *   3. Classification: z are the class probabilities in the order of classes, except when
 *      output.binary: then z is one number p = p(classes[1]) and the probabilities are [1 − p, p].
 *      Regression: value = z · target.std + target.mean, output by output (when target is not null).
 *
 * Dropout acts at training time only (inverted dropout), so it has no place here. The engine computes
 * in float32; the same steps in float64 agree with its predictions to about 1e-6 relative.
 */
export interface JsonExport {
  format: typeof JSON_EXPORT_FORMAT;
  version: typeof JSON_EXPORT_VERSION;
  task: ExportTask;
  /** Class labels in the order of the probabilities; null for regression or when the model has none. */
  classes: string[] | null;
  /** One name per input, in order; null when the model has none. */
  featureNames: string[] | null;
  inputs: number;
  preprocessing: {
    mean: number[];
    /** The scale the model was trained with: the feature's std, floored at range/10 (robust scaling); 0 for a constant feature. */
    std: number[];
    /** What the predictor multiplies by: 1/std rounded to float32, 0 where std = 0. */
    scale: number[];
    rule: string;
  };
  layers: {
    inputs: number;
    units: number;
    activation: Activation;
    /** units × inputs: weights[j][i] joins input i to unit j. */
    weights: number[][];
    biases: number[];
  }[];
  output: {
    /** The name of the ONNX export's output: 'probabilities' or 'value'. */
    name: string;
    activation: Activation;
    /** Numbers per prediction: the probabilities (2 when binary) or the values. */
    columns: number;
    /** One sigmoid unit p = p(class 1) standing for the two probabilities [1 − p, p]. */
    binary: boolean;
    rule: string;
  };
  target: { mean: number[]; std: number[]; rule: string } | null;
}

const STANDARDISATION_RULE = 'z[j] = (x[j] − mean[j]) · scale[j], where scale[j] = 1/std[j] (as a float32), ' +
  'or 0 where std[j] = 0, so a constant feature becomes 0';

/** The model's numbers and rules in the documented layout above; throws EngineError 'invalid_model' for a malformed model. */
export function exportJson(model: Model): JsonExport {
  validateModel(model);
  const { network, params } = model;
  const described = describeModel(model);
  const { sizes, weightOffset, biasOffset } = paramLayout(network);
  const L = sizes.length - 1;
  const nIn = sizes[0];

  const layers: JsonExport['layers'] = [];
  for (let l = 1; l <= L; l++) {
    const units = sizes[l], inputs = sizes[l - 1];
    const weights: number[][] = [];
    for (let j = 0; j < units; j++) {
      const row = weightOffset[l] + j * inputs;
      weights.push(Array.from(params.subarray(row, row + inputs)));
    }
    layers.push({
      inputs, units,
      activation: l < L ? network.hidden[l - 1].activation : network.output,
      weights,
      biases: Array.from(params.subarray(biasOffset[l], biasOffset[l] + units)),
    });
  }

  const standardised = model.mean !== null && model.std !== null;
  const outputRule = described.task === 'regression'
    ? (model.targetMean !== null ? 'value = z · target.std + target.mean' : 'value = z')
    : described.binary ? 'probabilities = [1 − p, p], p = z[0] = p(class 1)' : 'probabilities = z';

  return {
    format: JSON_EXPORT_FORMAT,
    version: JSON_EXPORT_VERSION,
    task: described.task,
    classes: described.classLabels,
    featureNames: described.featureNames,
    inputs: nIn,
    preprocessing: {
      mean: standardised ? Array.from(model.mean!) : new Array<number>(nIn).fill(0),
      std: standardised ? Array.from(model.std!) : new Array<number>(nIn).fill(1),
      scale: standardised ? Array.from(inverse_std(model.std!)) : new Array<number>(nIn).fill(1),
      rule: STANDARDISATION_RULE,
    },
    layers,
    output: {
      name: described.task === 'regression' ? ONNX_VALUE : ONNX_PROBABILITIES,
      activation: network.output,
      columns: described.task === 'regression' ? sizes[L] : described.classes,
      binary: described.binary,
      rule: outputRule,
    },
    target: model.targetMean !== null && model.targetStd !== null
      ? { mean: Array.from(model.targetMean), std: Array.from(model.targetStd), rule: 'value = z · std + mean' }
      : null,
  };
}
