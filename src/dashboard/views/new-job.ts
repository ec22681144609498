// #/new: start a training job on a dataset with the main hyperparameters; the rest keep the API's defaults.
import { api, ApiError, type Dataset, type JobSpecInput } from '../api.js';
import { errorBox, field, h } from '../dom.js';

export function newJobView(root: HTMLElement, query: URLSearchParams): () => void {
  const dataset = h('select', { name: 'datasetId', required: true }, h('option', { value: '' }, 'Loading datasets…'));
  const hidden = h('input', {
    type: 'text', name: 'hidden', value: '64', required: true, pattern: '\\s*\\d+(\\s*,\\s*\\d+)*\\s*', inputmode: 'numeric',
    title: 'units per hidden layer, comma-separated, e.g. 64, 32',
  });
  const activation = h('select', { name: 'activation' },
    ...['relu', 'tanh', 'sigmoid'].map((a) => h('option', { value: a }, a)));
  const epochs = numberInput('epochs', 20, { min: 1, max: 10000, step: 1 });
  const batchSize = numberInput('batchSize', 32, { min: 1, max: 65536, step: 1 });
  const learningRate = numberInput('learningRate', 0.05, { min: 0.000001, max: 10, step: 'any' });
  const momentum = numberInput('momentum', 0.9, { min: 0, max: 0.999, step: 'any' });
  const validationSplit = numberInput('validationSplit', 0.2, { min: 0, max: 0.9, step: 'any' });
  const seed = h('input', { type: 'number', name: 'seed', min: 0, max: 2 ** 32 - 1, step: 1, placeholder: 'random' });
  const submit = h('button', { type: 'submit' }, 'Start training');
  const outcome = h('div', { class: 'outcome' });
  const inputs = { datasetId: dataset, hidden, activation, epochs, batchSize, learningRate, momentum, validationSplit, seed };

  const form = h('form', { class: 'card form', id: 'job-form' },
    h('div', { class: 'fields' },
      field('Dataset', dataset),
      field('Hidden layers', hidden, 'units per layer, e.g. 64 or 64, 32'),
      field('Activation', activation),
      field('Epochs', epochs),
      field('Batch size', batchSize),
      field('Learning rate', learningRate),
      field('Momentum', momentum),
      field('Validation split', validationSplit, 'fraction held out'),
      field('Seed', seed, 'for a repeatable run')),
    h('div', { class: 'form-actions' }, submit),
    outcome,
  );
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'New job')), form);

  let stopped = false;
  api.listDatasets().then((list) => {
    if (stopped) return;
    const wanted = query.get('dataset');
    dataset.replaceChildren(
      h('option', { value: '' }, list.items.length ? 'Choose a dataset' : 'No datasets: upload one first'),
      ...list.items.map((d: Dataset) => h('option', { value: d.id, selected: d.id === wanted },
        `${d.name} — ${d.rows.toLocaleString()} rows × ${d.features} features, ${d.task}`)),
    );
  }, (err) => { if (!stopped) outcome.replaceChildren(errorBox(err)); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const input of Object.values(inputs)) input.removeAttribute('aria-invalid');
    const spec: JobSpecInput = {
      datasetId: dataset.value,
      hidden: hidden.value.split(',').map((u) => ({ units: Number(u.trim()), activation: activation.value as 'relu' | 'tanh' | 'sigmoid' })),
      epochs: epochs.valueAsNumber,
      batchSize: batchSize.valueAsNumber,
      optimizer: { learningRate: learningRate.valueAsNumber, momentum: momentum.valueAsNumber },
      validationSplit: validationSplit.valueAsNumber,
      ...(seed.value === '' ? {} : { seed: seed.valueAsNumber }),
    };
    submit.disabled = true;
    outcome.replaceChildren();
    try {
      const job = await api.createJob(spec);
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      outcome.replaceChildren(errorBox(err));
      for (const name of invalidFields(err)) inputs[name as keyof typeof inputs]?.setAttribute('aria-invalid', 'true');
    } finally {
      submit.disabled = false;
    }
  });
  return () => { stopped = true; };
}

function numberInput(name: string, value: number, limits: { min: number; max: number; step: number | 'any' }): HTMLInputElement {
  return h('input', { type: 'number', name, value, required: true, ...limits });
}

/** Maps the issue paths of a 400 ("body.optimizer.learningRate", "body.hidden[0].units") to form fields. */
function invalidFields(err: unknown): string[] {
  if (!(err instanceof ApiError) || !Array.isArray(err.details?.issues)) return [];
  return (err.details.issues as { path?: string }[]).map(({ path = '' }) => {
    if (path.startsWith('body.hidden')) return path.endsWith('.activation') ? 'activation' : 'hidden';
    return path.replace(/\[\d+\]/g, '').split('.').pop() ?? '';
  });
}
