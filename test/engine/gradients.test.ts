// Finite-difference checks of backpropagation in float64, for every hidden activation × output/loss
// pairing: the analytic gradient of the mean minibatch cost must match central differences to 1e-6
// relative, so a wrong sign, a missing h′ or a lost 1/rows fails.
import { describe, expect, it } from 'vitest';
import { reserve } from '../../src/engine/arena.js';
import { costFor } from '../../src/engine/costs.js';
import { gemmReference } from '../../src/engine/kernels/reference.js';
import { mlp_backward, mlp_forward, params_init, pass_create, pass_request } from '../../src/engine/mlp.js';
import { rng_seed, rng_uniform, rng_below } from '../../src/engine/rng.js';
import { paramLayout } from '../../src/engine/spec.js';
import type { HiddenActivation, LossName, NetworkSpec, OutputActivation } from '../../src/engine/types.js';

const ROWS = 5;

function check(hidden: HiddenActivation, output: OutputActivation, loss: LossName) {
  const outputs = 3;
  const network: NetworkSpec = {
    inputs: 4,
    hidden: [{ units: 5, activation: hidden, dropout: 0 }, { units: 3, activation: hidden, dropout: 0 }],
    outputs, output, loss,
  };
  const layout = paramLayout(network);
  const f64 = (lengths: number[]) => lengths.map((n) => new Float64Array(n));
  const buf = reserve(f64, { params: layout.paramCount, grads: layout.paramCount, y: ROWS * outputs, ...pass_request(network, ROWS, 'train') });
  const pass = pass_create(network, layout, buf.params, buf.grads, buf);
  const rng = rng_seed(7);
  params_init(buf.params, layout, network, rng);
  // Non-zero biases, so a bias gradient that is silently zero would show.
  for (let l = 1; l <= 3; l++) for (let j = 0; j < layout.sizes[l]; j++) buf.params[layout.biasOffset[l] + j] = 0.3 * (rng_uniform(rng) - 0.5);
  for (let i = 0; i < ROWS * 4; i++) pass.z[0][i] = 2 * rng_uniform(rng) - 1;
  for (let r = 0; r < ROWS; r++) {
    if (output === 'softmax') buf.y[r * outputs + rng_below(rng, outputs)] = 1;
    else for (let k = 0; k < outputs; k++) buf.y[r * outputs + k] = output === 'identity' ? 3 * rng_uniform(rng) - 1.5 : loss === 'binary_cross_entropy' ? rng_below(rng, 2) : rng_uniform(rng);
  }
  const cost = costFor(loss, output);
  const L = 3;
  const meanCost = () => {
    mlp_forward(gemmReference, pass, ROWS, null);
    return cost.fn(pass.a[L], pass.z[L], buf.y, ROWS, outputs) / ROWS;
  };

  meanCost();
  cost.delta(pass.delta[L], pass.a[L], pass.z[L], buf.y, ROWS, outputs);
  mlp_backward(gemmReference, pass, ROWS);
  const analytic = Float64Array.from(buf.grads);

  const h = 1e-6;
  let worst = 0;
  for (let i = 0; i < layout.paramCount; i++) {
    const saved = buf.params[i];
    buf.params[i] = saved + h;
    const up = meanCost();
    buf.params[i] = saved - h;
    const down = meanCost();
    buf.params[i] = saved;
    const numeric = (up - down) / (2 * h);
    const error = Math.abs(numeric - analytic[i]) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic[i]));
    worst = Math.max(worst, error);
  }
  expect(worst).toBeLessThan(1e-6);
  // The check must not pass vacuously: most gradients are far from zero.
  expect(analytic.filter((g) => Math.abs(g) > 1e-4).length).toBeGreaterThan(layout.paramCount / 2);
}

const pairings: [OutputActivation, LossName][] = [
  ['identity', 'squared_error'],
  ['sigmoid', 'squared_error'],
  ['softmax', 'squared_error'],
  ['sigmoid', 'binary_cross_entropy'],
  ['softmax', 'categorical_cross_entropy'],
];

describe('backpropagation matches finite differences (float64)', () => {
  for (const hidden of ['sigmoid', 'tanh', 'relu'] as const) {
    for (const [output, loss] of pairings) {
      it(`${hidden} hidden layers, ${output} output, ${loss}`, () => check(hidden, output, loss));
    }
  }
});
