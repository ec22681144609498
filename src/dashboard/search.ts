// What the search pages compute without the DOM, so it can be tested on its own: the space as the form's
// rows describe it, the leaderboard's order when a column header is clicked, and the search's figures
// as people read them.
import type { Epoch, ParamValue, Search, SearchMetric, SpaceEntry, Trial } from './api.js';
import { num, percent } from './dom.js';

// ---------------------------------------------------------------- the space, from the form

/** One row of the space editor: a dotted path of the job spec and what to try there. */
export interface SpaceRow {
  path: string;
  kind: 'list' | 'range';
  /** For a list: comma-separated values. */
  values: string;
  /** For a range: its bounds, whether to draw on a log scale, and whether to round each draw. */
  min: string;
  max: string;
  log: boolean;
  integer?: boolean;
}

/** A row the form cannot send, and which one, so the page can mark it. */
export class SpaceProblem extends Error {
  constructor(readonly row: number, message: string) {
    super(message);
    this.name = 'SpaceProblem';
  }
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * "16, 64" → [16, 64]; "relu, tanh" → ["relu", "tanh"]. Numbers are read as numbers and everything else
 * as a string, except true, false and null, which a spec field of that kind expects (nesterov, clipNorm).
 */
export function parseValues(text: string): ParamValue[] {
  // Values that are themselves lists or objects (whole `hidden` stacks) go in as one JSON array.
  if (text.trim().startsWith('[')) {
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (err) {
      throw new Error(`not a JSON array: ${(err as Error).message}`);
    }
    if (!Array.isArray(values) || values.length === 0) throw new Error('give a JSON array of at least one value');
    return values as ParamValue[];
  }
  const items = text.split(',').map((v) => v.trim());
  if (items.length === 1 && items[0] === '') throw new Error('give at least one value, comma-separated');
  return items.map((item, i) => {
    if (item === '') throw new Error(`value ${i + 1} is empty: remove the extra comma`);
    if (NUMBER.test(item)) return Number(item);
    if (item === 'true' || item === 'false') return item === 'true';
    if (item === 'null') return null;
    return item;
  });
}

/** The body's `space` from the editor's rows; rows with neither a path nor values are skipped. */
export function buildSpace(rows: SpaceRow[]): Record<string, SpaceEntry> {
  const space: Record<string, SpaceEntry> = {};
  rows.forEach((row, i) => {
    const path = row.path.trim();
    const untouched = row.kind === 'list' ? row.values.trim() === '' : row.min.trim() === '' && row.max.trim() === '';
    if (path === '' && untouched) return;
    if (path === '') throw new SpaceProblem(i, `row ${i + 1}: give the setting's dotted path, e.g. optimizer.learningRate`);
    if (path in space) throw new SpaceProblem(i, `row ${i + 1}: ${path} is already in the space`);
    if (row.kind === 'list') {
      try {
        space[path] = parseValues(row.values);
      } catch (err) {
        throw new SpaceProblem(i, `row ${i + 1} (${path}): ${(err as Error).message}`);
      }
      return;
    }
    const min = row.min.trim() === '' ? Number.NaN : Number(row.min);
    const max = row.max.trim() === '' ? Number.NaN : Number(row.max);
    if (!Number.isFinite(min) || !Number.isFinite(max)) throw new SpaceProblem(i, `row ${i + 1} (${path}): give a number for both min and max`);
    if (min >= max) throw new SpaceProblem(i, `row ${i + 1} (${path}): min must be below max`);
    if (row.log && min <= 0) throw new SpaceProblem(i, `row ${i + 1} (${path}): a log range needs a min above 0`);
    space[path] = { min, max, ...(row.log ? { log: true } : {}), ...(row.integer ? { integer: true } : {}) };
  });
  if (Object.keys(space).length === 0) throw new SpaceProblem(0, 'the space is empty: give at least one setting to vary');
  return space;
}

/** A range entry of a space ({min, max, log?, integer?}), as a search reports its space (unknown JSON). */
function isRange(entry: unknown): entry is { min: number; max: number; log?: boolean; integer?: boolean } {
  return typeof entry === 'object' && entry !== null && !Array.isArray(entry)
    && typeof (entry as { min?: unknown }).min === 'number' && typeof (entry as { max?: unknown }).max === 'number';
}

/** The editor's rows for a space (a search's, to start a new one from it). */
export function spaceRows(space: Record<string, unknown>): SpaceRow[] {
  return Object.entries(space).map(([path, entry]): SpaceRow => {
    if (isRange(entry)) return { path, kind: 'range', values: '', min: String(entry.min), max: String(entry.max), log: entry.log === true, integer: entry.integer === true };
    const values = Array.isArray(entry) ? entry : [entry];
    // Plain words and numbers as a list; anything holding lists or objects as one JSON array.
    const plain = values.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v)) && values.every((v) => !String(v).includes(','));
    return { path, kind: 'list', values: plain ? values.map((v) => String(v)).join(', ') : JSON.stringify(values), min: '', max: '', log: false };
  });
}

// ---------------------------------------------------------------- the leaderboard

/** A leaderboard column: rank, index, score, epochs, status, stopReason, or `param:<path>`. */
export type TrialColumn = 'rank' | 'index' | 'score' | 'epochs' | 'status' | 'stopReason' | `param:${string}`;

export interface TrialOrder {
  column: TrialColumn;
  descending: boolean;
}

/** A trial with its place in the service's order (best first), which the rank column shows. */
export interface RankedTrial extends Trial { rank: number }

export function ranked(trials: Trial[]): RankedTrial[] {
  return trials.map((t, i) => ({ ...t, rank: i + 1 }));
}

function cell(t: RankedTrial, column: TrialColumn): ParamValue | undefined {
  if (column.startsWith('param:')) return t.params[column.slice('param:'.length)];
  return t[column as Exclude<TrialColumn, `param:${string}`>];
}

/** Numbers by value, before words; words in dictionary order (so "relu" < "tanh", "8" < "16" as numbers). */
function compare(a: ParamValue, b: ParamValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/**
 * The trials in the order a clicked header asks for. What a trial lacks (no score yet, no stop reason)
 * goes last whichever way the column runs; ties keep the service's order.
 */
export function sortTrials(trials: RankedTrial[], order: TrialOrder): RankedTrial[] {
  const sign = order.descending ? -1 : 1;
  return [...trials].sort((x, y) => {
    const a = cell(x, order.column);
    const b = cell(y, order.column);
    const aMissing = a === null || a === undefined;
    const bMissing = b === null || b === undefined;
    if (aMissing !== bMissing) return aMissing ? 1 : -1;
    const c = aMissing ? 0 : sign * compare(a as ParamValue, b as ParamValue);
    return c !== 0 ? c : x.rank - y.rank;
  });
}

/**
 * The order a first click on a header gives: the score best first (highest for accuracy and R², lowest
 * for a loss), everything else ascending. A second click on the same header turns it round.
 */
export function nextOrder(current: TrialOrder, column: TrialColumn, direction: Search['direction']): TrialOrder {
  if (current.column === column) return { column, descending: !current.descending };
  return { column, descending: column === 'score' && direction === 'max' };
}

// ---------------------------------------------------------------- figures

export const METRIC_LABEL: Record<SearchMetric, string> = {
  valAccuracy: 'validation accuracy', valLoss: 'validation loss', valR2: 'validation R²',
};

/** The metric's value in one epoch record. */
export function metricValue(metric: SearchMetric): (e: Epoch) => number | null {
  return (e) => e[metric];
}

export function formatScore(metric: SearchMetric, score: number | null | undefined): string {
  return metric === 'valAccuracy' ? percent(score) : num(score);
}

/** A tried value as a cell shows it: numbers with three significant digits, the rest as they are. */
export function formatParam(value: ParamValue | undefined): string {
  if (value === undefined) return '—';
  if (typeof value === 'number') return num(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * "62 of 120 epochs (48% saved)": what stopping trials early (halving, early stopping) saved. Only of a
 * search that succeeded: while one runs the rest is still to come, and a cancelled one did not save it.
 */
export function epochsLine(search: Pick<Search, 'epochsSpent' | 'epochsFull' | 'status'>): string {
  const { epochsSpent: spent, epochsFull: full } = search;
  if (full <= 0) return `${spent.toLocaleString('en-US')} epochs`;
  const saved = 1 - spent / full;
  return `${spent.toLocaleString('en-US')} of ${full.toLocaleString('en-US')} epochs`
    + (search.status === 'succeeded' && saved > 0.005 ? ` (${Math.round(saved * 100)}% saved)` : '');
}

/** How a space entry reads in a summary: "16, 64" or "0.001 … 0.3 (log)". */
export function describeEntry(entry: unknown): string {
  if (Array.isArray(entry)) return entry.map((v) => formatParam(v)).join(', ');
  if (!isRange(entry)) return formatParam(entry);
  const how = [entry.log ? 'log' : '', entry.integer ? 'whole numbers' : ''].filter(Boolean).join(', ');
  return `${num(entry.min)} … ${num(entry.max)}${how ? ` (${how})` : ''}`;
}
