// The search pages' own logic, without a browser: the space as the form's rows describe it, and the
// leaderboard's order when a header is clicked (missing scores always last, ties in the service's order).
import { describe, expect, it } from 'vitest';
import type { Trial } from '../../src/dashboard/api.js';
import {
  buildSpace, describeEntry, epochsLine, formatScore, nextOrder, parseValues, ranked, sortTrials, SpaceProblem, spaceRows,
  type SpaceRow,
} from '../../src/dashboard/search.js';

const list = (path: string, values: string): SpaceRow => ({ path, kind: 'list', values, min: '', max: '', log: false });
const range = (path: string, min: string, max: string, log = false): SpaceRow => ({ path, kind: 'range', values: '', min, max, log });

describe('parseValues', () => {
  it('reads numbers as numbers and other words as strings', () => {
    expect(parseValues('16, 64')).toEqual([16, 64]);
    expect(parseValues('relu,tanh , sigmoid')).toEqual(['relu', 'tanh', 'sigmoid']);
    expect(parseValues('0.001, 1e-3, -2, .5')).toEqual([0.001, 0.001, -2, 0.5]);
    expect(parseValues('adam, 3')).toEqual(['adam', 3]);
  });
  it('reads true, false and null as themselves, and keeps number-like words that are not numbers', () => {
    expect(parseValues('true, false, null')).toEqual([true, false, null]);
    expect(parseValues('0x10, 1.2.3')).toEqual(['0x10', '1.2.3']);
  });
  it('reads a JSON array as it is, for values that are lists or objects', () => {
    expect(parseValues('[[{"units": 16}], [{"units": 32}, {"units": 16}]]')).toEqual([[{ units: 16 }], [{ units: 32 }, { units: 16 }]]);
    expect(() => parseValues('[16, 32')).toThrow(/not a JSON array/);
    expect(() => parseValues('[]')).toThrow(/at least one value/);
  });
  it('refuses an empty list or an empty item, saying which', () => {
    expect(() => parseValues('  ')).toThrow(/at least one value/);
    expect(() => parseValues('16,,64')).toThrow(/value 2 is empty/);
  });
});

describe('buildSpace', () => {
  it("makes the body's space from lists and ranges", () => {
    expect(buildSpace([
      list('hidden.0.units', '16, 64'),
      list('hidden.0.activation', 'relu, tanh'),
      range('optimizer.learningRate', '0.001', '0.3', true),
      range('l2', '0', '0.01'),
      { ...range('batchSize', '8', '64'), integer: true },
    ])).toEqual({
      'hidden.0.units': [16, 64],
      'hidden.0.activation': ['relu', 'tanh'],
      'optimizer.learningRate': { min: 0.001, max: 0.3, log: true },
      l2: { min: 0, max: 0.01 },
      batchSize: { min: 8, max: 64, integer: true },
    });
  });
  it('skips blank rows and names the row at fault', () => {
    expect(buildSpace([list('', ''), list('batchSize', '16, 32')])).toEqual({ batchSize: [16, 32] });
    const fault = (rows: SpaceRow[]) => { try { buildSpace(rows); } catch (err) { return err as SpaceProblem; } throw new Error('no problem found'); };
    expect(fault([list('epochs', '5'), list('', '1, 2')])).toMatchObject({ row: 1, message: expect.stringMatching(/dotted path/) });
    expect(fault([list('epochs', '5'), list('epochs', '6')]).message).toMatch(/already in the space/);
    expect(fault([range('l2', '0.1', '0.01')]).message).toMatch(/min must be below max/);
    expect(fault([range('optimizer.learningRate', '0', '0.1', true)]).message).toMatch(/log range needs a min above 0/);
    expect(fault([range('l2', '', '0.1')]).message).toMatch(/both min and max/);
    expect(fault([list('', '')]).message).toMatch(/space is empty/);
  });
  it('round-trips through the rows a search is shown with', () => {
    const space = { 'hidden.0.units': [16, 64], 'optimizer.learningRate': { min: 0.001, max: 0.3, log: true } };
    expect(buildSpace(spaceRows(space))).toEqual(space);
    expect(describeEntry(space['optimizer.learningRate'])).toBe('0.001 … 0.3 (log)');
    expect(describeEntry(space['hidden.0.units'])).toBe('16, 64');
  });
});

describe('the leaderboard order', () => {
  const trial = (index: number, score: number | null, params: Trial['params'], extra: Partial<Trial> = {}): Trial => ({
    index, jobId: `job-${index}`, params, score, epochs: 10, status: 'succeeded', stopReason: 'completed', held: null, modelId: null, ...extra,
  });
  // As the service sends them: best first, no score last.
  const trials = ranked([
    trial(2, 0.95, { units: 64, activation: 'tanh' }),
    trial(0, 0.9, { units: 16, activation: 'relu' }, { stopReason: null }),
    trial(3, 0.9, { units: 64, activation: 'relu' }),
    trial(1, null, { units: 8, activation: 'tanh' }, { status: 'running', epochs: 3, stopReason: null }),
  ]);
  const indexes = (column: Parameters<typeof sortTrials>[1]['column'], descending = false) =>
    sortTrials(trials, { column, descending }).map((t) => t.index);

  it('ranks in the order the service sends', () => {
    expect(trials.map((t) => t.rank)).toEqual([1, 2, 3, 4]);
    expect(indexes('rank')).toEqual([2, 0, 3, 1]);
    expect(indexes('rank', true)).toEqual([1, 3, 0, 2]);
  });
  it('sorts numbers as numbers, words in dictionary order, ties in rank order', () => {
    expect(indexes('index')).toEqual([0, 1, 2, 3]);
    expect(indexes('param:units')).toEqual([1, 0, 2, 3]); // 8 < 16 < 64; the two 64s by rank
    expect(indexes('param:units', true)).toEqual([2, 3, 0, 1]);
    expect(indexes('param:activation')).toEqual([0, 3, 2, 1]);
    expect(indexes('epochs')).toEqual([1, 2, 0, 3]);
    expect(indexes('status')).toEqual([1, 2, 0, 3]);
  });
  it('puts a trial without a score or a stop reason last, whichever way the column runs', () => {
    expect(indexes('score')).toEqual([0, 3, 2, 1]);
    expect(indexes('score', true)).toEqual([2, 0, 3, 1]);
    expect(indexes('stopReason')).toEqual([2, 3, 0, 1]);
    expect(indexes('stopReason', true)).toEqual([2, 3, 0, 1]);
  });
  it('sorts the score best first on the first click, then turns round on the second', () => {
    const start = { column: 'rank' as const, descending: false };
    expect(nextOrder(start, 'score', 'max')).toEqual({ column: 'score', descending: true });
    expect(nextOrder(start, 'score', 'min')).toEqual({ column: 'score', descending: false });
    expect(nextOrder({ column: 'score', descending: true }, 'score', 'max')).toEqual({ column: 'score', descending: false });
    expect(nextOrder(start, 'param:units', 'max')).toEqual({ column: 'param:units', descending: false });
  });
});

describe('figures', () => {
  it('prints the score as the metric reads', () => {
    expect(formatScore('valAccuracy', 0.9234)).toBe('92.3%');
    expect(formatScore('valLoss', 0.123456)).toBe('0.123');
    expect(formatScore('valR2', null)).toBe('—');
  });
  it('says what stopping early saved, once the search has succeeded', () => {
    expect(epochsLine({ epochsSpent: 62, epochsFull: 120, status: 'succeeded' })).toBe('62 of 120 epochs (48% saved)');
    expect(epochsLine({ epochsSpent: 120, epochsFull: 120, status: 'succeeded' })).toBe('120 of 120 epochs');
    expect(epochsLine({ epochsSpent: 1500, epochsFull: 4000, status: 'succeeded' })).toBe('1,500 of 4,000 epochs (63% saved)');
    // Running, the rest is still to come; cancelled, it was never going to be spent: neither is saved.
    expect(epochsLine({ epochsSpent: 1500, epochsFull: 4000, status: 'cancelled' })).toBe('1,500 of 4,000 epochs');
    expect(epochsLine({ epochsSpent: 2811, epochsFull: 20000, status: 'running' })).toBe('2,811 of 20,000 epochs');
  });
});
