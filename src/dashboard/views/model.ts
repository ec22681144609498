// #/models/<id>: one model, everything needed to use it — its full id, name and version, what it expects
// (features in order, classes), how it learned (its job's curves), how good it is on a dataset (evaluate:
// accuracy and a confusion matrix, or MSE/MAE/R²; the latest stored evaluation first), a predict form,
// and calls to copy (curl, V2) with the real id.
import {
  api, apiKey, apiUrl, authHeaders, errorFrom, type Dataset, type Epoch, type Model, type PredictResponse,
  type StoredEvaluation,
} from '../api.js';
import type { CurveChart } from '../chart.js';
import { copyButton, errorBox, field, h, idChip, num, percent, when } from '../dom.js';
import { makeCharts } from './curves.js';

interface Architecture {
  inputs?: number;
  hidden?: { units: number; activation: string; dropout: number }[];
  output?: string;
  loss?: string;
}

export function modelView(root: HTMLElement, ref: string): () => void {
  const problem = h('div');
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Model'), h('a', { href: '#/models' }, '← all models')), problem);
  let stopped = false;
  let charts: CurveChart[] = [];

  void (async () => {
    let model: Model;
    try {
      model = await api.getModel(ref);
    } catch (err) {
      problem.replaceChildren(errorBox(err));
      return;
    }
    if (stopped) return;
    const [datasets, evaluations] = await Promise.all([
      api.listDatasets(500).then((l) => l.items, () => [] as Dataset[]),
      api.evaluations(model.id).catch((err) => { problem.replaceChildren(errorBox(err)); return null; }),
    ]);
    if (stopped) return;
    const curves = h('div', { class: 'charts' }, h('p', { class: 'muted waiting' }, model.jobId ? 'Loading the curves…' : 'Its job was deleted: no curves.'));
    root.append(
      identity(model, datasets),
      h('div', { class: 'two-up' }, architecture(model), inputs(model)),
      h('section', { class: 'card' }, h('h2', {}, 'Training curves'), curves),
      evaluateCard(model, datasets, evaluations),
      predictCard(model),
      examplesCard(model),
    );
    if (model.jobId) {
      const jobId = model.jobId;
      Promise.all([api.jobEpochs(jobId, 0), api.getJob(jobId)]).then(([{ epochs }, job]) => {
        if (stopped) return;
        if (epochs.length === 0) { curves.replaceChildren(h('p', { class: 'muted' }, 'No epochs recorded.')); return; }
        charts = makeCharts(curves, epochs[0], job.spec.validationSplit);
        for (const e of epochs) for (const c of charts) c.add(e);
      }, (err) => { if (!stopped) curves.replaceChildren(errorBox(err)); });
    }
  })();

  return () => {
    stopped = true;
    for (const c of charts) c.destroy();
  };
}

function item(term: string, value: Node | string, id?: string): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', { id }, value));
}

function identity(m: Model, datasets: Dataset[]): HTMLElement {
  const dataset = datasets.find((d) => d.id === m.datasetId);
  const e = (m.metrics ?? null) as Epoch | null;
  return h('div', {},
    h('p', { class: 'full-id' }, h('code', { id: 'model-id' }, m.id), ' ', copyButton(m.id, 'Copy the model id')),
    h('dl', { class: 'summary', id: 'model-summary' },
      item('Name', m.name ? `${m.name}` : h('span', { class: 'muted' }, 'unnamed (set modelName in the job spec)')),
      item('Version', m.version === null ? '—' : String(m.version)),
      item('Aliases', m.aliases.length ? m.aliases.map((a) => `${m.name}@${a}`).join(', ') : '—'),
      item('Task', m.task),
      item('Kept from epoch', m.bestEpoch === null ? '—' : String(m.bestEpoch)),
      e ? item('Loss', `${num(e.loss)}${e.valLoss !== null ? ` · val ${num(e.valLoss)}` : ''}`) : null,
      e && m.task === 'classification' ? item('Accuracy', `${percent(e.accuracy)}${e.valAccuracy !== null ? ` · val ${percent(e.valAccuracy)}` : ''}`) : null,
      e && m.task === 'regression' ? item('R² · MAE', `${num(e.valR2 ?? e.r2)} · ${num(e.valMae ?? e.mae)}${e.valR2 !== null ? ' (val)' : ''}`) : null,
      item('Job', m.jobId ? idChip(m.jobId, `#/jobs/${m.jobId}`) : 'deleted'),
      item('Dataset', m.datasetId ? (dataset ? dataset.name : idChip(m.datasetId)) : 'deleted'),
      item('Created', when(m.createdAt)),
      item('Export', h('span', {}, download(m, 'onnx', 'ONNX'), ' · ', download(m, 'json', 'JSON'))),
    ));
}

/** A plain link; with an API key the file is fetched with the header and saved from a blob. */
function download(m: Model, format: 'onnx' | 'json', label: string): HTMLAnchorElement {
  const href = apiUrl(`/v1/models/${encodeURIComponent(m.id)}/export?format=${format}`);
  const link = h('a', { href, download: `${m.name ?? m.id}.${format}`, class: `export-${format}` }, label);
  link.addEventListener('click', async (e) => {
    if (!apiKey()) return;
    e.preventDefault();
    const res = await fetch(href, { headers: authHeaders() });
    if (!res.ok) { link.after(errorBox(await errorFrom(res))); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: link.getAttribute('download') ?? format });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  return link;
}

function architecture(m: Model): HTMLElement {
  const a = (m.architecture ?? {}) as Architecture;
  const outputs = m.task === 'classification' ? (a.output === 'sigmoid' ? 1 : m.classes?.length ?? 1) : 1;
  const layers = [
    `${a.inputs ?? m.features} inputs`,
    ...(a.hidden ?? []).map((l) => `${l.units} ${l.activation}${l.dropout > 0 ? ` (dropout ${l.dropout})` : ''}`),
    `${outputs} ${a.output ?? ''}`.trim(),
  ];
  return h('section', { class: 'card' }, h('h2', {}, 'Architecture'),
    h('p', { id: 'model-architecture' }, layers.join(' → ')),
    a.loss ? h('p', { class: 'muted' }, `Trained on ${a.loss.replace(/_/g, ' ')}.`) : null);
}

function inputs(m: Model): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, 'Expected inputs'),
    h('p', {}, `${m.features} features, in this order (raw units: the model standardises them itself):`),
    h('p', { class: 'feature-names' }, h('code', { id: 'model-features' }, m.featureNames.join(', '))),
    m.classes
      ? h('p', {}, `${m.classes.length} classes: `, h('code', { id: 'model-classes' }, m.classes.join(', ')))
      : h('p', { class: 'muted' }, 'Regression: one value per row, in the target\'s units.'));
}

// ---------------------------------------------------------------- evaluate

function evaluateCard(m: Model, datasets: Dataset[], stored: StoredEvaluation[] | null): HTMLElement {
  // Datasets of the model's width only: the service refuses the others.
  const usable = datasets.filter((d) => d.features === m.features);
  const choice = h('select', { name: 'datasetId', required: true },
    ...(usable.length ? [] : [h('option', { value: '' }, 'No dataset with this many features')]),
    ...usable.map((d) => h('option', { value: d.id, selected: d.id === m.datasetId },
      `${d.name} — ${d.rows.toLocaleString()} rows${d.id === m.datasetId ? ' (trained on)' : ''}`)));
  const submit = h('button', { type: 'submit' }, 'Evaluate');
  const result = h('div', { id: 'evaluation' });
  const history = h('div', { class: 'history' });
  const names = new Map(datasets.map((d) => [d.id, d.name]));
  const evaluations: StoredEvaluation[] = stored ? [...stored] : [];

  const showHistory = () => {
    if (evaluations.length < 2) { history.replaceChildren(); return; }
    history.replaceChildren(h('p', { class: 'muted' }, 'Earlier: ',
      ...evaluations.slice(1).flatMap((e, i) => [i ? ' · ' : '', h('button', {
        type: 'button', class: 'link', onclick: () => result.replaceChildren(evaluationView(m, e, names)),
      }, `${names.get(e.datasetId) ?? e.datasetId.slice(0, 8)}, ${when(e.at)}`)])));
  };

  if (evaluations[0]) result.replaceChildren(evaluationView(m, evaluations[0], names));
  else result.replaceChildren(h('p', { class: 'muted' }, 'Not evaluated yet: choose a dataset.'));
  showHistory();

  const form = h('form', { class: 'form', id: 'evaluate-form' },
    h('div', { class: 'inline-fields' }, field('Dataset', choice), submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!choice.value) return;
    submit.disabled = true;
    result.replaceChildren(h('p', { class: 'muted' }, 'Evaluating…'));
    try {
      const fresh = await api.evaluate(m.id, choice.value);
      // Stored by the service when it keeps evaluations; kept in this page either way.
      evaluations.unshift({ ...fresh, datasetId: choice.value, at: new Date().toISOString() });
      result.replaceChildren(evaluationView(m, evaluations[0], names));
      showHistory();
    } catch (err) {
      result.replaceChildren(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { class: 'card', id: 'evaluate' }, h('h2', {}, 'Evaluate'),
    stored === null ? h('p', { class: 'muted', id: 'evaluations-unsupported' }, 'This service does not keep evaluations: the page shows the ones made here.') : null,
    form, result, history);
}

function evaluationView(m: Model, e: StoredEvaluation, names: Map<string, string>): HTMLElement {
  const figures = h('dl', { class: 'summary' },
    item('Dataset', names.get(e.datasetId) ?? e.datasetId),
    item('Rows', e.rows.toLocaleString()),
    item('Loss', num(e.loss), 'eval-loss'),
    e.accuracy !== undefined ? item('Accuracy', percent(e.accuracy), 'eval-accuracy') : null,
    e.mse !== undefined ? item('MSE', num(e.mse), 'eval-mse') : null,
    e.mae !== undefined ? item('MAE', num(e.mae), 'eval-mae') : null,
    e.r2 !== undefined ? item('R²', num(e.r2), 'eval-r2') : null,
    item('When', when(e.at)),
  );
  const classes = e.classes ?? m.classes ?? [];
  return h('div', {}, figures, e.confusionMatrix ? confusionMatrix(e.confusionMatrix, classes) : null);
}

/** Rows: the true class; columns: the predicted one. Each cell is shaded by its share of its row. */
function confusionMatrix(matrix: number[][], classes: (string | number)[]): HTMLElement {
  const table = h('table', { class: 'confusion', id: 'confusion-matrix' },
    h('caption', {}, 'Confusion matrix: rows are the true class, columns the predicted one; shade = share of the row'),
    h('thead', {}, h('tr', {}, h('th', { class: 'corner' }, 'true ╲ predicted'), ...classes.map((c) => h('th', { scope: 'col' }, String(c))))),
    h('tbody', {}, ...matrix.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return h('tr', {}, h('th', { scope: 'row' }, String(classes[i] ?? i)), ...row.map((count, j) => {
        const share = count / total;
        const cell = h('td', { class: i === j ? 'diagonal' : null, title: `${count} of ${total} (${percent(share)})` }, count.toLocaleString('en-US'));
        // Through the CSSOM, which the page's CSP allows (a style attribute it would not).
        cell.style.backgroundColor = `rgba(37, 99, 235, ${(0.06 + share * 0.84).toFixed(3)})`;
        if (share > 0.5) cell.style.color = '#fff';
        return cell;
      }));
    })));
  return h('div', { class: 'table-scroll' }, table);
}

// ---------------------------------------------------------------- predict

/** Comma-, tab- or space-separated numbers, one row a line; a header line of names is skipped. */
export function parseRows(text: string, width: number): number[][] {
  const rows: number[][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const cells = line.trim().split(/\s*[,;\t]\s*|\s+/).filter((c) => c !== '');
    if (cells.length === 0) return;
    if (cells.every((c) => Number.isNaN(Number(c))) && rows.length === 0) return; // a header
    const row = cells.map(Number);
    const bad = cells.findIndex((c) => !Number.isFinite(Number(c)));
    if (bad >= 0) throw new Error(`line ${i + 1}: "${cells[bad]}" is not a number`);
    if (row.length !== width) throw new Error(`line ${i + 1} has ${row.length} values; the model takes ${width}`);
    rows.push(row);
  });
  if (rows.length === 0) throw new Error(`enter a row of ${width} comma-separated numbers`);
  return rows;
}

function predictCard(m: Model): HTMLElement {
  const rows = h('textarea', {
    name: 'rows', id: 'predict-rows', rows: 4, spellcheck: 'false',
    placeholder: `${m.featureNames.slice(0, 6).join(', ')}${m.features > 6 ? ', …' : ''}\n(one row per line, ${m.features} numbers)`,
  });
  const submit = h('button', { type: 'submit' }, 'Predict');
  const output = h('div', { id: 'predictions' });
  const form = h('form', { class: 'form', id: 'predict-form' },
    field('Rows', rows, `Comma-separated, in the order of the features above; a header line of names is skipped.`),
    h('div', { class: 'form-actions' }, submit), output);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let instances: number[][];
    try {
      instances = parseRows(rows.value, m.features);
    } catch (err) {
      output.replaceChildren(errorBox(err));
      rows.setAttribute('aria-invalid', 'true');
      return;
    }
    rows.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      output.replaceChildren(predictionsView(await api.predict(m.id, instances)));
    } catch (err) {
      output.replaceChildren(errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { class: 'card', id: 'predict' }, h('h2', {}, 'Predict'), form);
}

function predictionsView(res: PredictResponse): HTMLElement {
  const classes = res.classes;
  const head = h('tr', {}, h('th', { class: 'num' }, '#'),
    ...(classes ? [h('th', {}, 'Label'), ...classes.map((c) => h('th', { class: 'num' }, `p(${c})`))] : [h('th', { class: 'num' }, 'Value')]));
  const body = res.predictions.map((p, i) => {
    if ('label' in p) {
      const best = Math.max(...p.probabilities);
      return h('tr', { 'data-label': String(p.label) }, h('td', { class: 'num' }, i + 1),
        h('td', { class: 'prediction-label' }, h('strong', {}, String(p.label))),
        ...p.probabilities.map((q) => h('td', { class: q === best ? 'num best' : 'num' }, percent(q))));
    }
    return h('tr', { 'data-value': String(p.value) }, h('td', { class: 'num' }, i + 1), h('td', { class: 'num prediction-value' }, num(p.value, 4)));
  });
  return h('div', { class: 'table-scroll' }, h('table', { class: 'list compact' }, h('thead', {}, head), h('tbody', {}, ...body)));
}

// ---------------------------------------------------------------- calls to copy

function examplesCard(m: Model): HTMLElement {
  const base = new URL(apiUrl('/'), location.href).href.replace(/\/$/, '');
  const row = Array(m.features).fill(0).join(', ');
  const auth = apiKey() ? " -H \"authorization: Bearer $API_KEY\"" : '';
  const v1 = `curl -s -X POST ${base}/v1/models/${m.id}/predict${auth} \\\n  -H 'content-type: application/json' \\\n  -d '{"instances": [[${row}]]}'`;
  const v2 = `curl -s -X POST ${base}/v2/models/${m.id}/infer${auth} \\\n  -H 'content-type: application/json' \\\n  -d '{"inputs": [{"name": "input", "shape": [1, ${m.features}], "datatype": "FP32", "data": [${row}]}]}'`;
  const evaluate = m.datasetId
    ? `curl -s -X POST ${base}/v1/models/${m.id}/evaluate${auth} \\\n  -H 'content-type: application/json' -d '{"datasetId": "${m.datasetId}"}'`
    : null;
  const block = (title: string, code: string, id: string) => h('div', { class: 'example' },
    h('div', { class: 'example-head' }, h('strong', {}, title), copyButton(code, `Copy the ${title} call`)),
    h('pre', { id }, h('code', {}, code)));
  return h('section', { class: 'card', id: 'examples' }, h('h2', {}, 'Call it'),
    h('p', { class: 'muted' }, `With a row of zeros: put ${m.features} real values in raw units in its place.`
      + (m.name ? ` ${m.name} (its latest version), ${m.name}@${m.version} or an alias work wherever the id does.` : '')),
    block('Predict (v1)', v1, 'example-predict'),
    block('Infer (Open Inference Protocol V2)', v2, 'example-v2'),
    evaluate ? block('Evaluate', evaluate, 'example-evaluate') : null);
}
