// #/jobs/<id>: one job, live. Its loss and accuracy (or R²) curves grow epoch by epoch from the event
// stream, which also carries progress inside an epoch and every change of status.
import { api, ApiError, FINISHED, type Dataset, type Epoch, type Job, type Progress } from '../api.js';
import { curveChart, type CurveChart } from '../chart.js';
import { append, errorBox, h, num, percent, progressBar, seconds, shortId, statusBadge, when } from '../dom.js';
import { followJob } from '../stream.js';

const COLOR = { train: '#2563eb', validation: '#ea580c' };

export function jobView(root: HTMLElement, id: string): () => void {
  const problem = h('div');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel job');
  const summary = h('dl', { class: 'summary', id: 'job-summary' });
  const failure = h('div');
  const charts = h('div', { class: 'charts' }, h('p', { class: 'muted waiting' }, 'Waiting for the first epoch…'));
  const spec = h('dl', { class: 'spec' });
  const details = h('div', { hidden: true }, summary, failure,
    h('section', { class: 'card' }, h('h2', {}, 'Training curves'), charts),
    h('section', { class: 'card' }, h('h2', {}, 'Specification'), spec));
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Job ', h('span', { class: 'mono' }, id)), cancel),
    problem, details,
  );

  let job: Job | null = null;
  let datasetName: string | null = null;
  let lastEpoch = 0;
  let live: Progress | null = null;
  // Between progress events (sent only inside long epochs) speed and time left come from the epochs.
  let epochMs = 0;
  let epochsTimed = 0;
  let trainRows: number | null = null;
  let curves: CurveChart[] = [];
  let stopStream: (() => void) | null = null;
  let stopped = false;

  const render = () => {
    if (!job) return;
    const epochsDone = Math.max(job.epoch, lastEpoch);
    const running = job.status === 'running';
    const progress = running && live ? live.progress : Math.max(job.progress, epochsDone / job.epochs);
    const m = job.metrics;
    const speed = live?.samplesPerSec
      ?? (running && trainRows && epochsTimed ? (trainRows / epochMs) * 1000 : null) ?? job.samplesPerSec;
    const classification = m ? m.accuracy !== null : job.spec.output !== 'linear';
    summary.replaceChildren();
    append(summary,
      item('Status', h('span', { id: 'job-status' }, statusBadge(job.status),
        job.stopReason && !['completed', job.status].includes(job.stopReason) ? h('span', { class: 'muted' }, ` (${job.stopReason.replace(/_/g, ' ')})`) : null)),
      item('Epoch', h('span', { id: 'job-epoch', 'data-epoch': epochsDone }, `${epochsDone} / ${job.epochs}`)),
      item('Progress', h('span', { class: 'progress-cell' }, progressBar(progress, 'training progress'), `${Math.round(progress * 100)}%`)),
      item('Loss', m ? `${num(m.loss)}${m.valLoss !== null ? ` · val ${num(m.valLoss)}` : ''}` : '—'),
      classification
        ? item('Accuracy', m ? `${percent(m.accuracy)}${m.valAccuracy !== null ? ` · val ${percent(m.valAccuracy)}` : ''}` : '—')
        : item('R²', m ? `${num(m.r2)}${m.valR2 !== null ? ` · val ${num(m.valR2)}` : ''}` : '—'),
      item('Speed', speed ? `${num(speed, 3)} samples/s` : '—'),
      running ? item('Time left', seconds(live?.etaSeconds ?? (epochsTimed ? ((job.epochs - epochsDone) * epochMs) / 1000 : job.etaSeconds))) : null,
      item('Dataset', job.datasetId ? datasetName ?? job.datasetId : 'deleted'),
      job.modelId ? item('Model', h('a', { href: '#/models', class: 'mono', id: 'job-model', title: job.modelId }, shortId(job.modelId))) : null,
      item('Created', when(job.createdAt)),
      job.startedAt ? item('Started', when(job.startedAt)) : null,
      job.finishedAt ? item('Finished', when(job.finishedAt)) : null,
    );
    cancel.hidden = FINISHED.includes(job.status);
    failure.replaceChildren(...(job.error ? [errorBox(new ApiError(0, job.error.code, job.error.message))] : []));
  };

  const onEpoch = (e: Epoch) => {
    if (e.epoch <= lastEpoch) return; // already plotted (a replay after a reconnect)
    lastEpoch = e.epoch;
    epochMs += (e.durationMs - epochMs) / ++epochsTimed; // the running mean
    if (curves.length === 0) curves = makeCharts(charts, e, job?.spec.validationSplit ?? 0);
    for (const c of curves) c.add(e);
    if (job) job = { ...job, metrics: e, epoch: Math.max(job.epoch, e.epoch) };
    live = null; // the next progress event is about the next epoch
    render();
  };

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      job = await api.cancelJob(id);
      render();
    } catch (err) {
      problem.replaceChildren(errorBox(err));
    } finally {
      cancel.disabled = false;
    }
  });

  void (async () => {
    try {
      job = await api.getJob(id);
    } catch (err) {
      problem.replaceChildren(errorBox(err));
      return;
    }
    if (stopped) return;
    details.hidden = false;
    renderSpec(spec, job, null);
    render();
    if (job.datasetId) {
      api.getDataset(job.datasetId).then((d) => {
        datasetName = d.name;
        if (job) {
          trainRows = d.rows - Math.floor(d.rows * job.spec.validationSplit);
          renderSpec(spec, job, d);
          render();
        }
      }, () => { /* deleted since: the spec keeps its id */ });
    }
    // The stream replays the epochs so far, then follows; it ends after the final status.
    stopStream = followJob(id, {
      epoch: onEpoch,
      progress: (p) => { live = p; render(); },
      status: (j) => { job = j; if (j.status !== 'running') live = null; render(); },
      error: (err) => problem.replaceChildren(errorBox(err)),
    });
  })();

  return () => {
    stopped = true;
    stopStream?.();
    for (const c of curves) c.destroy();
  };
}

function item(term: string, value: Node | string): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

/** The second chart follows the task: accuracy for classification, R² for regression. */
function makeCharts(into: HTMLElement, first: Epoch, validationSplit: number): CurveChart[] {
  const validation = validationSplit > 0;
  const lossBox = h('div', { class: 'chart', id: 'chart-loss' });
  const metricBox = h('div', { class: 'chart', id: 'chart-metric' });
  into.replaceChildren(lossBox, metricBox);
  const loss = curveChart(lossBox, {
    title: 'Loss', yLabel: 'loss',
    curves: [
      { label: 'loss', color: COLOR.train, value: (e) => e.loss },
      ...(validation ? [{ label: 'validation loss', color: COLOR.validation, dashed: true, value: (e: Epoch) => e.valLoss }] : []),
    ],
  });
  const metric = first.accuracy !== null
    ? curveChart(metricBox, {
      title: 'Accuracy', yLabel: 'accuracy', range: [0, 1],
      curves: [
        { label: 'accuracy', color: COLOR.train, value: (e) => e.accuracy },
        ...(validation ? [{ label: 'validation accuracy', color: COLOR.validation, dashed: true, value: (e: Epoch) => e.valAccuracy }] : []),
      ],
    })
    : curveChart(metricBox, {
      title: 'R²', yLabel: 'R²',
      curves: [
        { label: 'R²', color: COLOR.train, value: (e) => e.r2 },
        ...(validation ? [{ label: 'validation R²', color: COLOR.validation, dashed: true, value: (e: Epoch) => e.valR2 }] : []),
      ],
    });
  return [loss, metric];
}

/** The dataset, once fetched, adds the input and output widths to the layer line. */
function renderSpec(into: HTMLElement, job: Job, dataset: Dataset | null): void {
  const s = job.spec;
  const o = s.optimizer;
  const layers = s.hidden.map((l) => `${l.units} ${l.activation}${l.dropout > 0 ? ` (dropout ${l.dropout})` : ''}`);
  const outputs = dataset ? (s.output === 'softmax' ? dataset.classes?.length ?? 1 : 1) : null;
  into.replaceChildren(
    item('Layers', [
      ...(dataset ? [`${dataset.features} inputs`] : []), ...layers, outputs === null ? s.output : `${outputs} ${s.output}`,
    ].join(' → ')),
    item('Loss function', s.loss.replace(/_/g, ' ')),
    item('Optimizer', `SGD, learning rate ${o.learningRate}, momentum ${o.momentum}${o.nesterov ? ' (Nesterov)' : ''}`
      + (o.decay > 0 ? `, decay ${o.decay} per ${o.decayPer}` : '')),
    item('Epochs', String(s.epochs)),
    item('Batch size', String(s.batchSize)),
    item('Validation split', String(s.validationSplit)),
    item('L2', String(s.l2)),
    item('Early stopping', s.earlyStopping ? `patience ${s.earlyStopping.patience}, min delta ${s.earlyStopping.minDelta}` : 'off'),
    item('Standardize', s.standardize ? 'yes' : 'no'),
    item('Seed', String(s.seed)),
  );
}
