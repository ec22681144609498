// #/searches/new: start a hyperparameter search. The base settings are a job spec in JSON (every field but
// the dataset); the space is a row per setting to vary, its dotted path in the spec with a list of values
// or a range to draw from. #/searches/new?from=<search> fills the form from that search;
// #/searches/new?dataset=<id> picks the dataset.
import { api, ApiError, type Dataset, type Search, type SearchInput, type SearchMetric } from '../api.js';
import { errorBox, field, h } from '../dom.js';
import { buildSpace, SpaceProblem, spaceRows, type SpaceRow } from '../search.js';

const BASE = '{"validationSplit": 0.2, "epochs": 30}';
const EXAMPLE: SpaceRow[] = [
  { path: 'hidden.0.units', kind: 'list', values: '16, 64', min: '', max: '', log: false },
  { path: 'optimizer.learningRate', kind: 'list', values: '0.003, 0.03', min: '', max: '', log: false },
];
/** Paths people vary most, offered as they type (any dotted path of the job spec is accepted). */
const PATHS = [
  'hidden.0.units', 'hidden.0.activation', 'hidden.0.dropout', 'hidden.1.units', 'optimizer.name', 'optimizer.learningRate',
  'optimizer.momentum', 'optimizer.decay', 'batchSize', 'l2', 'epochs', 'standardize',
];

interface RowControls {
  element: HTMLElement;
  path: HTMLInputElement;
  kind: HTMLSelectElement;
  values: HTMLInputElement;
  min: HTMLInputElement;
  max: HTMLInputElement;
  log: HTMLInputElement;
  integer: HTMLInputElement;
}

export function newSearchView(root: HTMLElement, query: URLSearchParams): () => void {
  const dataset = h('select', { name: 'datasetId', required: true }, h('option', { value: '' }, 'Loading datasets…'));
  const name = h('input', { type: 'text', name: 'name', maxlength: 100, placeholder: 'unnamed' });
  const base = h('textarea', { name: 'base', rows: 4, spellcheck: 'false', 'aria-label': 'base settings (JSON)' });
  base.value = BASE;
  const rowsBox = h('div', { id: 'space-rows' });
  const paths = h('datalist', { id: 'space-paths' }, ...PATHS.map((p) => h('option', { value: p })));
  const addRow = h('button', { type: 'button', class: 'secondary', id: 'add-space-row' }, 'Add a setting');
  const strategy = h('select', { name: 'strategy' }, h('option', { value: 'grid' }, 'grid: every combination'), h('option', { value: 'random' }, 'random: draws from the space'));
  const trials = h('input', { type: 'number', name: 'trials', min: 1, max: 1000, step: 1, placeholder: 'required' });
  const metric = h('select', { name: 'metric' });
  const halving = h('input', { type: 'checkbox', name: 'halving' });
  const minEpochs = h('input', { type: 'number', name: 'minEpochs', min: 1, step: 1, value: '3' });
  const eta = h('input', { type: 'number', name: 'eta', min: 2, step: 1, value: '3' });
  const parallel = h('input', { type: 'number', name: 'parallel', min: 1, max: 64, step: 1, placeholder: '4' });
  const seed = h('input', { type: 'number', name: 'seed', min: 0, max: 2 ** 32 - 1, step: 1, placeholder: 'random' });
  const submit = h('button', { type: 'submit' }, 'Start search');
  const outcome = h('div', { class: 'outcome' });
  const heading = h('p', { class: 'muted', id: 'search-from-note' });

  const trialsField = field('Trials', trials, 'how many draws');
  const halvingFields = [field('Min epochs', minEpochs, 'every trial trains this long first'), field('η (eta)', eta, 'keep the best 1 in η at each rung')];
  const form = h('form', { class: 'card form', id: 'search-form', novalidate: true },
    heading,
    h('div', { class: 'fields' },
      field('Dataset', dataset),
      field('Name', name, 'to tell searches apart')),
    h('fieldset', {}, h('legend', {}, 'Base settings'),
      field('Job spec (JSON)', base, 'every trial starts from these: any field of a job but the dataset, e.g. "hidden", "optimizer", "batchSize"; the rest keep the service\'s defaults')),
    h('fieldset', {}, h('legend', {}, 'Space'),
      h('p', { class: 'hint muted' }, 'A row per setting to vary: its dotted path in the job spec, and a comma-separated list of values '
        + '(numbers as numbers, other words as text; a JSON array for lists or objects) or, for a random search, a range.'),
      rowsBox, paths, h('div', { class: 'list-actions' }, addRow)),
    h('fieldset', {}, h('legend', {}, 'Search'), h('div', { class: 'fields' },
      field('Strategy', strategy),
      trialsField,
      field('Metric', metric, 'what ranks the trials, on the held-out rows'),
      field('Parallel', parallel, 'trials training at once'),
      field('Seed', seed, 'for a repeatable search'),
      h('label', { class: 'field check' }, halving, h('span', { class: 'label' }, 'Successive halving')),
      ...halvingFields)),
    h('div', { class: 'form-actions' }, submit),
    outcome,
  );
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'New search'), h('a', { href: '#/searches' }, '← searches')), form);

  const rows: RowControls[] = [];
  const addSpaceRow = (r: SpaceRow) => {
    const controls = spaceRow(r, (gone) => {
      rows.splice(rows.indexOf(gone), 1);
      gone.element.remove();
    });
    rows.push(controls);
    rowsBox.append(controls.element);
  };
  addRow.addEventListener('click', () => {
    addSpaceRow({ path: '', kind: strategy.value === 'random' ? 'range' : 'list', values: '', min: '', max: '', log: false });
    rows.at(-1)?.path.focus();
  });

  let datasets: Dataset[] = [];
  /** The metrics the chosen dataset's task allows; the first is its default, sent as nothing. */
  const showMetrics = () => {
    const task = datasets.find((d) => d.id === dataset.value)?.task;
    const wanted = metric.value;
    const [first, ...others]: SearchMetric[] = task === 'regression' ? ['valR2', 'valLoss'] : task === 'classification' ? ['valAccuracy', 'valLoss'] : ['valAccuracy', 'valR2', 'valLoss'];
    metric.replaceChildren(
      h('option', { value: '' }, task ? `${first} (the default)` : 'follows the dataset'),
      ...(task ? others : [first, ...others]).map((m) => h('option', { value: m, selected: m === wanted }, m)),
    );
  };
  const showFields = () => {
    trialsField.hidden = strategy.value !== 'random';
    for (const f of halvingFields) f.hidden = !halving.checked;
  };
  dataset.addEventListener('change', showMetrics);
  strategy.addEventListener('change', showFields);
  halving.addEventListener('change', showFields);
  showMetrics();
  showFields();

  let stopped = false;
  const fromId = query.get('from');
  Promise.all([api.listDatasets(500), fromId ? api.getSearch(fromId) : Promise.resolve(null)]).then(([list, source]) => {
    if (stopped) return;
    datasets = list.items;
    const wanted = source?.datasetId ?? query.get('dataset');
    dataset.replaceChildren(
      h('option', { value: '' }, list.items.length ? 'Choose a dataset' : 'No datasets: upload one first'),
      ...list.items.map((d) => h('option', { value: d.id, selected: d.id === wanted },
        `${d.name} — ${d.rows.toLocaleString()} rows × ${d.features} features, ${d.task}`)),
    );
    if (source) {
      fill(source);
      heading.textContent = `The settings of search ${source.id}: change what you want to try.`;
    } else {
      for (const r of EXAMPLE) addSpaceRow(r);
    }
    showMetrics();
    showFields();
  }, (err) => { if (!stopped) outcome.replaceChildren(errorBox(err)); });

  function fill(s: Search): void {
    base.value = JSON.stringify(s.base, null, 2);
    for (const r of spaceRows(s.space)) addSpaceRow(r);
    strategy.value = s.strategy;
    trials.value = s.strategy === 'random' ? String(s.progress.total) : '';
    metric.value = s.metric;
    halving.checked = s.halving !== null;
    if (s.halving) {
      minEpochs.value = String(s.halving.minEpochs);
      eta.value = String(s.halving.eta);
    }
    parallel.value = String(s.parallel);
    seed.value = String(s.seed);
  }

  const controls = (): HTMLElement[] => [dataset, name, base, strategy, trials, metric, minEpochs, eta, parallel, seed,
    ...rows.flatMap((r) => [r.path, r.values, r.min, r.max])];
  const refuse = (message: string, ...at: HTMLElement[]) => {
    for (const c of at) c.setAttribute('aria-invalid', 'true');
    outcome.replaceChildren(errorBox(new ApiError(0, 'invalid_form', message)));
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const c of controls()) c.removeAttribute('aria-invalid');
    if (!dataset.value) return refuse('choose a dataset', dataset);
    let baseSettings: unknown;
    try {
      baseSettings = base.value.trim() === '' ? {} : JSON.parse(base.value);
    } catch (err) {
      return refuse(`the base settings are not valid JSON: ${(err as Error).message}`, base);
    }
    if (typeof baseSettings !== 'object' || baseSettings === null || Array.isArray(baseSettings)) {
      return refuse('the base settings are a JSON object of job spec fields, e.g. {"epochs": 30}', base);
    }
    let space: SearchInput['space'];
    try {
      space = buildSpace(rows.map(read));
    } catch (err) {
      const row = err instanceof SpaceProblem ? rows[err.row] : undefined;
      return refuse((err as Error).message, ...(row ? [row.path, row.values, row.min, row.max] : []));
    }
    const random = strategy.value === 'random';
    if (random && trials.value.trim() === '') return refuse('a random search needs a number of trials', trials);
    const input: SearchInput = {
      datasetId: dataset.value,
      base: baseSettings as Record<string, unknown>,
      space,
      strategy: random ? 'random' : 'grid',
      ...(random ? { trials: trials.valueAsNumber } : {}),
      ...(metric.value ? { metric: metric.value as SearchMetric } : {}),
      halving: halving.checked ? { minEpochs: minEpochs.valueAsNumber, eta: eta.valueAsNumber } : null,
      ...(parallel.value.trim() ? { parallel: parallel.valueAsNumber } : {}),
      ...(seed.value.trim() ? { seed: seed.valueAsNumber } : {}),
      ...(name.value.trim() ? { name: name.value.trim() } : {}),
    };
    submit.disabled = true;
    outcome.replaceChildren();
    try {
      const search = await api.createSearch(input);
      location.hash = `#/searches/${encodeURIComponent(search.id)}`;
    } catch (err) {
      outcome.replaceChildren(errorBox(err), ...errorDetails(err));
      for (const c of invalidControls(err)) c.setAttribute('aria-invalid', 'true');
    } finally {
      submit.disabled = false;
    }
  });

  /**
   * The controls a refusal points at: zod's issue paths (body.space.…, body.trials) for a 400, or the
   * `field` of a 422 — a form field (trials), a place in the body (space.…, base.…), or a field of the
   * job spec a trial's values made invalid (hidden.0.units, optimizer), found among the space's rows.
   */
  function invalidControls(err: unknown): HTMLElement[] {
    if (!(err instanceof ApiError) || !err.details) return [];
    const byName: Record<string, HTMLElement> = { datasetId: dataset, name, strategy, trials, metric, minEpochs, eta, parallel, seed, halving: minEpochs };
    const issues = Array.isArray(err.details.issues) ? (err.details.issues as { path?: string }[]).map((i) => (i.path ?? '').replace(/^body\.?/, '')) : [];
    const field = typeof err.details.field === 'string' ? [err.details.field] : [];
    const rowFor = (path: string) => rows.filter((r) => {
      const mine = r.path.value.trim();
      return mine !== '' && (path === mine || path.startsWith(`${mine}.`) || mine.startsWith(`${path}.`));
    });
    const found: HTMLElement[] = [];
    for (const path of [...issues, ...field]) {
      const top = path.split('.')[0].replace(/\[\d+\]$/, '');
      if (top === 'space') found.push(...rowFor(path.slice('space.'.length)).flatMap((r) => [r.path, r.values, r.min, r.max]));
      else if (top === 'base') found.push(base);
      else if (byName[top]) found.push(byName[top]);
      else {
        const matching = rowFor(path);
        found.push(...(matching.length ? matching.flatMap((r) => [r.path, r.values, r.min, r.max]) : [base]));
      }
    }
    return found;
  }

  return () => { stopped = true; };
}

/** One row of the space editor; the remove button hands the row back to its owner. */
function spaceRow(r: SpaceRow, remove: (row: RowControls) => void): RowControls {
  const path = h('input', { type: 'text', name: 'path', value: r.path, list: 'space-paths', placeholder: 'e.g. hidden.0.units', 'aria-label': 'setting (dotted path)', spellcheck: 'false' });
  const kind = h('select', { name: 'kind', 'aria-label': 'list or range' }, h('option', { value: 'list' }, 'values'), h('option', { value: 'range' }, 'range'));
  kind.value = r.kind;
  const values = h('input', { type: 'text', name: 'values', value: r.values, placeholder: 'e.g. 16, 64 or relu, tanh', 'aria-label': 'values, comma-separated' });
  const min = h('input', { type: 'number', name: 'min', step: 'any', value: r.min, placeholder: 'min', 'aria-label': 'min' });
  const max = h('input', { type: 'number', name: 'max', step: 'any', value: r.max, placeholder: 'max', 'aria-label': 'max' });
  const log = h('input', { type: 'checkbox', name: 'log', checked: r.log });
  const logLabel = h('label', { class: 'check log-check', title: 'draw uniformly in log space (min above 0)' }, log, ' log');
  const integer = h('input', { type: 'checkbox', name: 'integer', checked: r.integer === true });
  const integerLabel = h('label', { class: 'check log-check', title: 'round each draw to a whole number (units, batch size)' }, integer, ' whole');
  const drop = h('button', { type: 'button', class: 'link danger', 'aria-label': 'remove this setting' }, 'Remove');
  const list = h('div', { class: 'space-values' }, values);
  const range = h('div', { class: 'space-range' }, min, max, logLabel, integerLabel);
  const element = h('div', { class: 'space-row' }, path, kind, list, range, drop);
  const controls: RowControls = { element, path, kind, values, min, max, log, integer };
  const show = () => {
    list.hidden = kind.value !== 'list';
    range.hidden = kind.value !== 'range';
  };
  kind.addEventListener('change', show);
  drop.addEventListener('click', () => remove(controls));
  show();
  return controls;
}

function read(r: RowControls): SpaceRow {
  return { path: r.path.value, kind: r.kind.value === 'range' ? 'range' : 'list', values: r.values.value, min: r.min.value, max: r.max.value, log: r.log.checked, integer: r.integer.checked };
}

/** What a refusal's details say beyond its message: each issue on a line, or the details as they are. */
function errorDetails(err: unknown): HTMLElement[] {
  if (!(err instanceof ApiError) || !err.details || Object.keys(err.details).length === 0) return [];
  const issues = Array.isArray(err.details.issues) ? err.details.issues as { path?: string; message?: string }[] : null;
  const lines = issues
    ? issues.map((i) => `${i.path ?? ''}${i.path ? ': ' : ''}${i.message ?? ''}`)
    : Object.entries(err.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [h('ul', { class: 'error-details', id: 'search-error-details' }, ...lines.map((l) => h('li', {}, l)))];
}
