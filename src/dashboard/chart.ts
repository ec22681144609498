// One uPlot chart of per-epoch curves (loss, validation loss, accuracy ...) that grows as epochs arrive
// and follows its container's width. The number of plotted epochs is mirrored in data-points.
import uPlot from 'uplot';
import type { Epoch } from './api.js';

export interface Curve {
  label: string;
  color: string;
  dashed?: boolean;
  value(e: Epoch): number | null;
}

export interface CurveChart {
  add(e: Epoch): void;
  destroy(): void;
}

const HEIGHT = 240;
/** Epochs are whole numbers: the x axis never ticks at 1.5. */
const EPOCH_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000];

export function curveChart(
  container: HTMLElement,
  options: { title: string; yLabel: string; curves: Curve[]; range?: [number, number] },
): CurveChart {
  const { curves } = options;
  // uPlot's column layout: x (epochs) then one column per curve.
  const columns: (number | null)[][] = [[], ...curves.map(() => [])];
  const plot = new uPlot({
    title: options.title,
    width: Math.max(container.clientWidth, 280),
    height: HEIGHT,
    scales: {
      x: { time: false },
      ...(options.range ? { y: { range: options.range } } : {}),
    },
    axes: [
      { label: 'epoch', stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, incrs: EPOCH_STEPS },
      { label: options.yLabel, stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, size: 60 },
    ],
    series: [
      { label: 'epoch' },
      ...curves.map((c) => ({
        label: c.label, stroke: c.color, width: 2, spanGaps: true,
        dash: c.dashed ? [6, 4] : undefined,
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : v.toPrecision(4)),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    // Away from the cursor the legend shows the latest epoch rather than dashes.
    hooks: { setCursor: [(u) => { if (u.cursor.idx == null) showLatest(u); }] },
  }, columns as uPlot.AlignedData, container);
  container.dataset.points = '0';

  const resize = new ResizeObserver(() => {
    const width = Math.max(container.clientWidth, 280);
    if (width !== plot.width) plot.setSize({ width, height: HEIGHT });
  });
  resize.observe(container);

  return {
    add(e: Epoch) {
      const xs = columns[0];
      if (xs.length > 0 && e.epoch <= (xs[xs.length - 1] as number)) return; // a replay after a reconnect
      xs.push(e.epoch);
      curves.forEach((c, i) => columns[i + 1].push(c.value(e)));
      plot.setData(columns as uPlot.AlignedData);
      if (plot.cursor.idx == null) showLatest(plot);
      container.dataset.points = String(xs.length);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

function showLatest(u: uPlot): void {
  const n = u.data[0].length;
  if (n > 0) u.setLegend({ idx: n - 1 }, false);
}
