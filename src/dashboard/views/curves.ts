// The training curves of one job, shared by the job page (growing live) and the model page (its job's
// history): loss with a log toggle, then accuracy for classification or R² and MAE for regression.
import type { Epoch } from '../api.js';
import { curveChart, type Curve, type CurveChart } from '../chart.js';
import { h } from '../dom.js';

export const COLOR = { train: '#2563eb', validation: '#ea580c' };

/** A training curve and, when the job held rows out, its validation twin (dashed). */
function pair(label: string, train: (e: Epoch) => number | null, validation: (e: Epoch) => number | null, held: boolean): Curve[] {
  return [
    { label, color: COLOR.train, value: train },
    ...(held ? [{ label: `validation ${label}`, color: COLOR.validation, dashed: true, value: validation }] : []),
  ];
}

/** The charts follow the task, which the first epoch tells: accuracy is null for regression. */
export function makeCharts(into: HTMLElement, first: Epoch, validationSplit: number): CurveChart[] {
  const held = validationSplit > 0;
  const box = (id: string) => h('div', { class: 'chart', id });
  const loss = { title: 'Loss', yLabel: 'loss', logToggle: true, curves: pair('loss', (e) => e.loss, (e) => e.valLoss, held) };
  const charts = first.accuracy !== null
    ? [loss, { title: 'Accuracy', yLabel: 'accuracy', range: [0, 1] as [number, number],
      curves: pair('accuracy', (e) => e.accuracy, (e) => e.valAccuracy, held) }]
    : [loss,
      { title: 'R²', yLabel: 'R²', curves: pair('R²', (e) => e.r2, (e) => e.valR2, held) },
      { title: 'Mean absolute error', yLabel: 'MAE (target units)', logToggle: true,
        curves: pair('MAE', (e) => e.mae, (e) => e.valMae, held) }];
  const boxes = [box('chart-loss'), box('chart-metric'), box('chart-mae')].slice(0, charts.length);
  into.replaceChildren(...boxes);
  return charts.map((options, i) => curveChart(boxes[i], options));
}
