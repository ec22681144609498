// Bad specs and data fail before training with EngineError: a code to branch on, the field's path,
// and a message that names the field.
import { describe, expect, it } from 'vitest';
import { createTrainer, EngineError, type NetworkSpec, type TrainingData, type TrainingSpec } from '../../src/engine/index.js';
import { blobNetwork, blobs, linear, trainingSpec } from './helpers.js';

function failure(network: NetworkSpec, training: TrainingSpec, data: TrainingData) {
  try {
    createTrainer(network, training, data);
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    const { code, field, message } = e as EngineError;
    return { code, field, message };
  }
  throw new Error('expected createTrainer to throw');
}

const net = blobNetwork();
const spec = trainingSpec();
const data = blobs(30);
const regressionNet: NetworkSpec = { inputs: 2, hidden: [], outputs: 1, output: 'identity', loss: 'squared_error' };
const hidden0 = (patch: object) => ({ ...net, hidden: [{ ...net.hidden[0], ...patch }, net.hidden[1]] }) as NetworkSpec;

const specCases: [string, NetworkSpec, TrainingSpec, string][] = [
  ['zero units', hidden0({ units: 0 }), spec, 'hidden[0].units'],
  ['fractional units', hidden0({ units: 2.5 }), spec, 'hidden[0].units'],
  ['an unknown activation', hidden0({ activation: 'swish' }), spec, 'hidden[0].activation'],
  ['dropout of 1', hidden0({ dropout: 1 }), spec, 'hidden[0].dropout'],
  ['an unknown output', { ...net, output: 'linear' } as unknown as NetworkSpec, spec, 'output'],
  ['an unknown loss', { ...net, loss: 'hinge' } as unknown as NetworkSpec, spec, 'loss'],
  ['softmax with binary cross-entropy', { ...net, loss: 'binary_cross_entropy' }, spec, 'loss'],
  ['sigmoid with categorical cross-entropy', { ...net, output: 'sigmoid' }, spec, 'loss'],
  ['a single softmax output', { ...net, outputs: 1, loss: 'squared_error' }, spec, 'outputs'],
  ['a huge network', { ...net, hidden: [hidden0({ units: 5000 }).hidden[0], { ...net.hidden[1], units: 5000 }] }, spec, 'hidden'],
  ['batch size 0', net, { ...spec, batchSize: 0 }, 'batchSize'],
  ['a negative learning rate', net, { ...spec, learningRate: -0.1 }, 'learningRate'],
  ['an infinite learning rate', net, { ...spec, learningRate: Infinity }, 'learningRate'],
  ['momentum of 1', net, { ...spec, momentum: 1 }, 'momentum'],
  ['a NaN decay', net, { ...spec, decay: NaN }, 'decay'],
  ['an unknown decay period', net, { ...spec, decayPer: 'batch' } as unknown as TrainingSpec, 'decayPer'],
  ['an unknown optimizer', net, { ...spec, optimizer: 'rmsprop' } as unknown as TrainingSpec, 'optimizer'],
  ['beta1 of 1', net, { ...spec, optimizer: 'adam', beta1: 1 }, 'beta1'],
  ['a negative beta2', net, { ...spec, optimizer: 'adam', beta2: -0.1 }, 'beta2'],
  ['epsilon of 0', net, { ...spec, optimizer: 'adam', epsilon: 0 }, 'epsilon'],
  ['clipNorm of 0', net, { ...spec, clipNorm: 0 }, 'clipNorm'],
  ['an infinite clipNorm', net, { ...spec, clipNorm: Infinity }, 'clipNorm'],
  ['a fractional seed', net, { ...spec, seed: 1.5 }, 'seed'],
  ['a validation split of 1', net, { ...spec, validationSplit: 1 }, 'validationSplit'],
  ['early stopping without validation rows', net, { ...spec, earlyStopping: { patience: 2, minDelta: 0 } }, 'earlyStopping'],
  ['zero patience', net, { ...spec, validationSplit: 0.2, earlyStopping: { patience: 0, minDelta: 0 } }, 'earlyStopping.patience'],
];

describe('invalid specs', () => {
  for (const [name, network, training, field] of specCases) {
    it(`rejects ${name}`, () => {
      const f = failure(network, training, data);
      expect(f).toMatchObject({ code: 'invalid_spec', field });
      expect(f.message).toContain(field.split('.').at(-1)!.replace(/\[\d+\]$/, ''));
    });
  }
});

describe('invalid data', () => {
  const x = data.x as Float32Array;
  const cases: [string, NetworkSpec, TrainingData, string, string][] = [
    ['a width that does not match the network', net, { ...data, features: 5 }, 'invalid_data', 'features'],
    ['x of the wrong length', net, { ...data, x: x.subarray(1) }, 'invalid_data', 'x'],
    ['NaN in x', net, { ...data, x: x.map((v, i) => (i === 13 ? NaN : v)) }, 'invalid_data', 'x[13]'],
    ['∞ in x', net, { ...data, x: x.map((v, i) => (i === 2 ? -Infinity : v)) }, 'invalid_data', 'x[2]'],
    ['a label out of range', net, { ...data, labels: data.labels!.map((v, i) => (i === 4 ? 3 : v)) }, 'invalid_data', 'labels[4]'],
    ['a negative label', net, { ...data, labels: data.labels!.map((v, i) => (i === 0 ? -1 : v)) }, 'invalid_data', 'labels[0]'],
    ['labels and targets both', net, { ...data, targets: new Float32Array(30 * 3) }, 'invalid_data', 'labels'],
    ['mean without std', net, { ...data, std: null }, 'invalid_data', 'std'],
    ['a negative std', net, { ...data, std: new Float32Array([1, -1, 1, 1]) }, 'invalid_data', 'std[1]'],
    ['zero rows', net, { ...data, rows: 0, x: new Float32Array(0), labels: new Int32Array(0) }, 'invalid_data', 'rows'],
    ['labels for an identity output', { ...net, output: 'identity', loss: 'squared_error' }, data, 'invalid_spec', 'output'],
    ['a NaN target', regressionNet, { ...linear(10), targets: new Float32Array(10).fill(NaN) }, 'invalid_data', 'targets[0]'],
    ['targets for a softmax output', { ...regressionNet, outputs: 2, output: 'softmax', loss: 'categorical_cross_entropy' },
      { ...linear(10), targets: new Float32Array(20), targetMean: null, targetStd: null }, 'invalid_spec', 'output'],
    ['a zero target std', regressionNet, { ...linear(10), targetStd: new Float32Array([0]) }, 'invalid_data', 'targetStd[0]'],
  ];
  for (const [name, network, d, code, field] of cases) {
    it(`rejects ${name}`, () => {
      const f = failure(network, spec, d);
      expect(f).toMatchObject({ code, field });
      expect(f.message).toContain(field.replace(/\[\d+\]$/, ''));
    });
  }

  it('rejects a validation split that leaves no validation row', () => {
    expect(failure(net, { ...spec, validationSplit: 0.01 }, data)).toMatchObject({ code: 'invalid_data', field: 'validationSplit' });
  });
});

describe('recommended defaults', () => {
  it('visit about 600,000 rows, in 10 to 100 epochs', async () => {
    const { recommendedEpochs, RECOMMENDED_DEFAULTS } = await import('../../src/engine/index.js');
    expect(recommendedEpochs(60_000)).toBe(10);
    expect(recommendedEpochs(1_000_000)).toBe(10);
    expect(recommendedEpochs(20_000)).toBe(30);
    expect(recommendedEpochs(112)).toBe(100);
    expect(recommendedEpochs(0)).toBe(100);
    // They form a valid spec with any data the service can hold.
    const { hidden, sgdLearningRate: _sgd, ...training } = RECOMMENDED_DEFAULTS;
    const trainer = createTrainer({ ...net, hidden }, { ...training, epochs: recommendedEpochs(30), seed: 1 }, data);
    expect(trainer.runEpoch()!.loss).toBeLessThan(2);
  });
});
