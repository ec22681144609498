// Line charts on uPlot: per-epoch curves that grow as epochs arrive (curveChart), and the general chart
// they are made of (lineChart), which the compare page and the within-epoch chart use directly. Every
// chart keeps its y-axis readable whatever the numbers (compact labels: a diverged loss is 1.2e+45, not
// 46 digits), zooms on a horizontal drag (double-click resets), can switch its y scale to log, and
// follows its container's width. The number of plotted points is mirrored in data-points.
import uPlot from 'uplot';
import type { Epoch } from './api.js';
import { h, legendNumber, num } from './dom.js';

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** The line's width in CSS pixels (2 unless given): a search's best trial is drawn thicker. */
  width?: number;
}

export interface Curve extends Series {
  value(e: Epoch): number | null;
}

export interface LineChart {
  /** Replaces every point; ys holds one column per series, aligned with xs. */
  setData(xs: number[], ys: (number | null)[][]): void;
  destroy(): void;
}

export interface CurveChart {
  add(e: Epoch): void;
  destroy(): void;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A fixed y range (accuracy: [0, 1]); otherwise the data's. */
  range?: [number, number];
  /** Offer a log-scale toggle (loss, MSE): values ≤ 0 are left out while it is on. */
  logToggle?: boolean;
  /** Whole-number x ticks (epochs). */
  integerX?: boolean;
}

const HEIGHT = 240;
/** Epochs are whole numbers: the x axis never ticks at 1.5. */
const EPOCH_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000];
/**
 * Tick steps for the y axis from 1e-30 to 1e306. uPlot's own stop at 1e16, so a diverged loss of 1e45
 * found no step and drew an axis without a single label.
 */
const Y_STEPS = Array.from({ length: 337 }, (_, i) => i - 30).flatMap((e) => [1, 2, 2.5, 5].map((m) => Number(`${m}e${e}`)));
const AXIS = { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' } };

export function lineChart(container: HTMLElement, options: ChartOptions): LineChart {
  let log = false;
  let zoomed = false;
  let xs: number[] = [];
  let ys: (number | null)[][] = options.series.map(() => []);

  const plotBox = h('div', { class: 'plot' });
  const tools = h('div', { class: 'chart-tools' },
    h('span', { class: 'muted' }, 'drag to zoom, double-click to reset'));
  if (options.logToggle) {
    const toggle = h('input', { type: 'checkbox', class: 'log-toggle' });
    toggle.addEventListener('change', () => {
      log = toggle.checked;
      container.dataset.scale = log ? 'log' : 'linear';
      rebuild();
    });
    tools.prepend(h('label', { class: 'toggle' }, toggle, ' log scale'));
  }
  container.replaceChildren(tools, plotBox);
  container.dataset.points = '0';
  container.dataset.scale = 'linear';

  const columns = (): uPlot.AlignedData => [
    xs,
    ...ys.map((col) => (log ? col.map((v) => (v !== null && v > 0 ? v : null)) : col)),
  ] as uPlot.AlignedData;

  const make = () => new uPlot({
    title: options.title,
    width: Math.max(plotBox.clientWidth || container.clientWidth, 280),
    height: HEIGHT,
    scales: {
      x: { time: false },
      // Whole decades on a log scale: a run that stays within one decade still gets labelled ticks.
      y: log ? { distr: 3, log: 10, range: (_u, min, max) => uPlot.rangeLog(min, max, 10, true) }
        : options.range ? { range: options.range } : {},
    },
    axes: [
      { ...AXIS, label: options.xLabel, incrs: options.integerX ? EPOCH_STEPS : undefined,
        values: (_u, splits) => splits.map((v) => (v == null ? '' : num(v))) },
      // A fixed width and compact labels: the axis is drawn whatever the magnitude.
      { ...AXIS, label: options.yLabel, size: 64, incrs: Y_STEPS, values: (_u, splits) => splits.map((v) => (v == null ? '' : num(v))) },
    ],
    series: [
      { label: options.xLabel, value: (_u, v) => (v === null ? '—' : num(v, 4)) },
      ...options.series.map((s) => ({
        label: s.label, stroke: s.color, width: s.width ?? 2, spanGaps: true,
        dash: s.dashed ? [6, 4] : undefined,
        value: (_u: uPlot, v: number | null) => legendNumber(v),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false, setScale: true } },
    hooks: {
      // Away from the cursor the legend shows the latest point rather than dashes.
      setCursor: [(u) => { if (u.cursor.idx == null) showLatest(u); }],
      // A drag selected a range: keep it while new points arrive, until a double-click.
      setSelect: [(u) => { if (u.select.width > 0) zoomed = true; }],
    },
  }, columns(), plotBox);

  let plot = make();
  const onDoubleClick = () => { zoomed = false; };
  plot.over.addEventListener('dblclick', onDoubleClick);
  showLatest(plot);

  function rebuild() {
    plot.destroy();
    zoomed = false;
    plot = make();
    plot.over.addEventListener('dblclick', onDoubleClick);
    showLatest(plot);
  }

  const resize = new ResizeObserver(() => {
    const width = Math.max(plotBox.clientWidth, 280);
    if (width !== plot.width) plot.setSize({ width, height: HEIGHT });
  });
  resize.observe(plotBox);

  return {
    setData(nextXs, nextYs) {
      xs = nextXs;
      ys = nextYs;
      plot.setData(columns(), !zoomed);
      if (plot.cursor.idx == null) showLatest(plot);
      container.dataset.points = String(xs.length);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

/** Per-epoch curves of one job, growing as its epochs arrive. */
export function curveChart(
  container: HTMLElement,
  options: { title: string; yLabel: string; curves: Curve[]; range?: [number, number]; logToggle?: boolean },
): CurveChart {
  const chart = lineChart(container, { ...options, xLabel: 'epoch', series: options.curves, integerX: true });
  const xs: number[] = [];
  const ys: (number | null)[][] = options.curves.map(() => []);
  return {
    add(e: Epoch) {
      if (xs.length > 0 && e.epoch <= xs[xs.length - 1]) return; // a replay after a reconnect
      xs.push(e.epoch);
      options.curves.forEach((c, i) => ys[i].push(c.value(e)));
      chart.setData(xs, ys);
    },
    destroy: () => chart.destroy(),
  };
}

function showLatest(u: uPlot): void {
  const n = u.data[0].length;
  if (n > 0) u.setLegend({ idx: n - 1 }, false);
}
