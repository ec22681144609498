// Successive halving, decided so that a search is deterministic whatever the number of workers, and the
// leaderboard. Pure functions of the trials' stored state: the store runs `plan` inside the transaction
// that applies it.
//
// Asynchronous successive halving (ASHA) decides a trial at a rung against the trials that reached the
// rung before it: it goes on if it is in the top 1/eta of them (at least the best one goes on). "Before"
// here is trial order, not arrival time: trial i is decided at rung r once every trial j < i has reached r
// or ended; until then it waits, paused, and its worker takes other work. The competitors, their values
// at r and so the decision are then the same however the trials were scheduled, and no trial waits for
// a later one, so the search never stalls.
import { FINISHED, type EpochRecord, type SearchPlan, type TrialState } from '../../store/types.js';
import type { JobSpec } from '../jobs/spec.js';
import type { Metric, SearchSpec } from './spec.js';

type Trial = TrialState<JobSpec>;

const finished = (t: Trial) => FINISHED.includes(t.job.status);

/** The rungs minEpochs·etaᵏ below the longest trial's epochs. */
export function rungs(minEpochs: number, eta: number, maxEpochs: number): number[] {
  const out: number[] = [];
  for (let r = minEpochs; r < maxEpochs; r *= eta) out.push(r);
  return out;
}

/** The first rung after `epoch` that a trial of `epochs` epochs stops at; null: it runs to its end. */
export function nextRung(spec: SearchSpec, epoch: number, epochs: number): number | null {
  return spec.halving?.rungs.find((r) => r > epoch && r < epochs) ?? null;
}

const value = (record: EpochRecord | null | undefined, metric: Metric): number | null => {
  const v = record?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** Orders by the metric, best first (nothing known: last), then by trial index. */
function compare(direction: 'max' | 'min') {
  return (a: { score: number | null; index: number }, b: { score: number | null; index: number }) => {
    if (a.score !== b.score) {
      if (a.score === null) return 1;
      if (b.score === null) return -1;
      return direction === 'max' ? b.score - a.score : a.score - b.score;
    }
    return a.index - b.index;
  };
}

/** What one pass changes: decisions on paused trials, trials started into free slots, the search's end. */
export function plan(spec: SearchSpec, trials: Trial[]): SearchPlan {
  const release: SearchPlan['release'] = [];
  const halve: string[] = [];
  const order = compare(spec.direction);
  for (const [i, t] of trials.entries()) {
    if (t.job.held !== 'rung' || spec.halving === null || t.job.pauseAt === null) continue;
    const r = t.job.pauseAt;
    if (!trials.slice(0, i).every((j) => j.at.has(r) || finished(j))) continue; // an earlier trial has yet to reach r
    const competitors = trials.slice(0, i + 1).filter((j) => j.at.has(r) || j === t)
      .map((j) => ({ index: j.job.trial ?? 0, score: value(j.at.get(r), spec.metric), id: j.job.id }))
      .sort(order);
    const keep = Math.max(1, Math.floor(competitors.length / spec.halving.eta));
    if (competitors.findIndex((c) => c.id === t.job.id) < keep) {
      release.push({ jobId: t.job.id, pauseAt: nextRung(spec, r, t.job.epochs) });
    } else {
      halve.push(t.job.id);
    }
  }
  // Trials waiting for their turn start, in order, while the search has fewer than `parallel` going.
  const going = trials.filter((t) => t.job.status === 'running' || (t.job.status === 'queued' && t.job.held === null)).length;
  let free = spec.parallel - going - release.length;
  for (const t of trials) {
    if (free <= 0) break;
    if (t.job.held !== 'turn') continue;
    release.push({ jobId: t.job.id, pauseAt: nextRung(spec, 0, t.job.epochs) });
    free--;
  }
  const halved = new Set(halve);
  const ended = trials.every((t) => finished(t) || halved.has(t.job.id));
  const anySucceeded = halve.length > 0 || trials.some((t) => t.job.status === 'succeeded');
  const allCancelled = trials.every((t) => t.job.status === 'cancelled');
  return { release, halve, finish: !ended ? null : anySucceeded ? 'succeeded' : allCancelled ? 'cancelled' : 'failed' };
}

export interface TrialView {
  index: number;
  jobId: string;
  params: Record<string, unknown>;
  /** The metric of the epoch the trial's model keeps, or of its latest epoch while it has none. */
  score: number | null;
  epochs: number;
  status: Trial['job']['status'];
  stopReason: string | null;
  held: 'turn' | 'rung' | null;
  modelId: string | null;
}

/** The trials, best first. */
export function leaderboard(spec: SearchSpec, trials: Trial[]): TrialView[] {
  return trials.map((t): TrialView => ({
    index: t.job.trial ?? 0,
    jobId: t.job.id,
    params: t.job.params ?? {},
    score: value(t.modelMetrics ?? t.job.metrics, spec.metric),
    epochs: t.job.epoch,
    status: t.job.status,
    stopReason: t.job.stopReason,
    held: t.job.held,
    modelId: t.job.modelId,
  })).sort(compare(spec.direction));
}
