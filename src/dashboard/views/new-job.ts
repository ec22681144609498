// #/new: start a training job with every setting of the job spec that matters. A field left empty is
// left out of the spec, so the service's default applies (the placeholder says which). #/new?clone=<job>
// fills the form from that job's resolved spec; #/new?dataset=<id> picks the dataset.
import { api, ApiError, type Dataset, type Job, type JobSpecInput } from '../api.js';
import { errorBox, field, h } from '../dom.js';
import { RECOMMENDED_DEFAULTS as R } from '../../engine/defaults.js';

type Activation = 'relu' | 'tanh' | 'sigmoid';
type Control = HTMLInputElement | HTMLSelectElement;

export function newJobView(root: HTMLElement, query: URLSearchParams): () => void {
  const dataset = h('select', { name: 'datasetId', required: true }, h('option', { value: '' }, 'Loading datasets…'));
  // Architecture
  const hidden = h('input', {
    type: 'text', name: 'hidden', value: String(R.hidden.map((l) => l.units).join(', ')), required: true,
    pattern: '\\s*\\d+(\\s*,\\s*\\d+)*\\s*', inputmode: 'numeric', title: 'units per hidden layer, comma-separated, e.g. 64, 32',
  });
  const activation = select('activation', ['relu', 'tanh', 'sigmoid']);
  const dropout = h('input', {
    type: 'text', name: 'dropout', value: '0', pattern: '\\s*(0(\\.\\d+)?|\\.\\d+)(\\s*,\\s*(0(\\.\\d+)?|\\.\\d+))*\\s*',
    title: 'a probability below 1 for every layer, or one per layer, e.g. 0.2 or 0.2, 0.1',
  });
  const output = select('output', ['', 'softmax', 'sigmoid', 'linear'], 'follows the dataset');
  const loss = select('loss', ['', 'categorical_cross_entropy', 'binary_cross_entropy', 'squared_error'], 'follows the output');
  // Optimizer
  const optimizer = select('optimizer', ['adam', 'sgd']);
  const learningRate = numberInput('learningRate', { min: 0.000001, max: 10, placeholder: `${R.learningRate} (adam), ${R.sgdLearningRate} (sgd)` });
  const momentum = numberInput('momentum', { min: 0, max: 0.999, placeholder: String(R.momentum) });
  const nesterov = h('input', { type: 'checkbox', name: 'nesterov' });
  const beta1 = numberInput('beta1', { min: 0, max: 0.9999, placeholder: String(R.beta1) });
  const beta2 = numberInput('beta2', { min: 0, max: 0.99999, placeholder: String(R.beta2) });
  const epsilon = numberInput('epsilon', { min: 0, max: 1, placeholder: String(R.epsilon) });
  const decay = numberInput('decay', { min: 0, max: 1000, placeholder: '0' });
  const decayPer = select('decayPer', ['epoch', 'step']);
  const clipNorm = numberInput('clipNorm', { min: 0, placeholder: 'no clipping' });
  // Training
  const epochs = numberInput('epochs', { min: 1, max: 10000, step: 1, placeholder: 'from the dataset size' });
  const batchSize = numberInput('batchSize', { min: 1, max: 65536, step: 1, placeholder: String(R.batchSize) });
  const l2 = numberInput('l2', { min: 0, max: 10, placeholder: String(R.l2) });
  const validationSplit = numberInput('validationSplit', { min: 0, max: 0.99, placeholder: String(R.validationSplit) });
  const standardize = h('input', { type: 'checkbox', name: 'standardize', checked: true });
  const seed = numberInput('seed', { min: 0, max: 2 ** 32 - 1, step: 1, placeholder: 'random' });
  const maxRuntimeSeconds = numberInput('maxRuntimeSeconds', { min: 1, max: 7 * 86400, step: 1, placeholder: 'none' });
  const earlyStopping = h('input', { type: 'checkbox', name: 'earlyStopping' });
  const patience = numberInput('patience', { min: 1, max: 1000, step: 1, placeholder: '5' });
  const minDelta = numberInput('minDelta', { min: 0, placeholder: '0' });
  const modelName = h('input', {
    type: 'text', name: 'modelName', maxlength: 100, pattern: '[A-Za-z][A-Za-z0-9._\\-]{0,99}', placeholder: 'unnamed',
    title: 'starts with a letter; letters, digits, ".", "_" and "-"',
  });

  const submit = h('button', { type: 'submit' }, 'Start training');
  const outcome = h('div', { class: 'outcome' });
  const inputs: Record<string, Control> = {
    datasetId: dataset, hidden, activation, dropout, output, loss, name: optimizer, learningRate, momentum, nesterov, beta1, beta2,
    epsilon, decay, decayPer, clipNorm, epochs, batchSize, l2, validationSplit, standardize, seed, maxRuntimeSeconds,
    patience, minDelta, modelName,
  };
  const sgdOnly = [field('Momentum', momentum), h('label', { class: 'field check' }, nesterov, h('span', { class: 'label' }, 'Nesterov'))];
  const adamOnly = [field('β₁', beta1), field('β₂', beta2), field('ε', epsilon)];
  const stopping = [field('Patience', patience, 'epochs without improvement'), field('Min delta', minDelta, 'smallest improvement that counts')];
  const heading = h('p', { class: 'muted', id: 'clone-note' });

  const form = h('form', { class: 'card form', id: 'job-form' },
    heading,
    h('div', { class: 'fields' }, field('Dataset', dataset), field('Model name', modelName, 'registers it as the next version of this name')),
    h('fieldset', {}, h('legend', {}, 'Network'), h('div', { class: 'fields' },
      field('Hidden layers', hidden, 'units per layer, e.g. 64 or 64, 32'),
      field('Activation', activation, 'of every hidden layer'),
      field('Dropout', dropout, 'one value for every layer, or one per layer'),
      field('Output', output), field('Loss', loss))),
    h('fieldset', {}, h('legend', {}, 'Optimizer'), h('div', { class: 'fields' },
      field('Optimizer', optimizer, 'adam, or minibatch SGD with momentum'),
      field('Learning rate', learningRate),
      ...sgdOnly, ...adamOnly,
      field('Decay', decay, 'rate ÷ (1 + decay) per epoch or step'),
      field('Decay per', decayPer),
      field('Clip gradient norm', clipNorm))),
    h('fieldset', {}, h('legend', {}, 'Training'), h('div', { class: 'fields' },
      field('Epochs', epochs), field('Batch size', batchSize), field('L2', l2, 'weight decay λ'),
      field('Validation split', validationSplit, 'fraction held out'),
      field('Seed', seed, 'for a repeatable run'),
      field('Max runtime (s)', maxRuntimeSeconds, 'keeps the best model so far'),
      h('label', { class: 'field check' }, standardize, h('span', { class: 'label' }, 'Standardize features')),
      h('label', { class: 'field check' }, earlyStopping, h('span', { class: 'label' }, 'Early stopping')),
      ...stopping)),
    h('div', { class: 'form-actions' }, submit),
    outcome,
  );
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'New job')), form);

  const showOptimizer = () => {
    for (const f of sgdOnly) f.hidden = optimizer.value !== 'sgd';
    for (const f of adamOnly) f.hidden = optimizer.value !== 'adam';
    for (const f of stopping) f.hidden = !earlyStopping.checked;
  };
  optimizer.addEventListener('change', showOptimizer);
  earlyStopping.addEventListener('change', showOptimizer);
  showOptimizer();

  let stopped = false;
  const cloneId = query.get('clone');
  Promise.all([api.listDatasets(500), cloneId ? api.getJob(cloneId) : Promise.resolve(null)]).then(([list, source]) => {
    if (stopped) return;
    const wanted = source?.spec.datasetId ?? query.get('dataset');
    dataset.replaceChildren(
      h('option', { value: '' }, list.items.length ? 'Choose a dataset' : 'No datasets: upload one first'),
      ...list.items.map((d: Dataset) => h('option', { value: d.id, selected: d.id === wanted },
        `${d.name} — ${d.rows.toLocaleString()} rows × ${d.features} features, ${d.task}`)),
    );
    if (source) {
      fill(source);
      heading.textContent = `A copy of job ${source.id}: change what you want to try.`;
      if (!list.items.some((d) => d.id === source.spec.datasetId)) heading.textContent += ' Its dataset is gone: choose another.';
      showOptimizer();
    }
  }, (err) => { if (!stopped) outcome.replaceChildren(errorBox(err)); });

  /** Every field from a job's resolved spec (defaults included, so the clone trains the same way). */
  function fill(job: Job): void {
    const s = job.spec;
    const o = s.optimizer;
    hidden.value = s.hidden.map((l) => l.units).join(', ');
    activation.value = s.hidden[0]?.activation ?? 'relu';
    const drops = s.hidden.map((l) => l.dropout);
    dropout.value = drops.every((d) => d === drops[0]) ? String(drops[0] ?? 0) : drops.join(', ');
    output.value = s.output;
    loss.value = s.loss;
    optimizer.value = o.name;
    learningRate.value = String(o.learningRate);
    momentum.value = String(o.momentum);
    nesterov.checked = o.nesterov;
    beta1.value = String(o.beta1);
    beta2.value = String(o.beta2);
    epsilon.value = String(o.epsilon);
    decay.value = String(o.decay);
    decayPer.value = o.decayPer;
    clipNorm.value = o.clipNorm === null ? '' : String(o.clipNorm);
    epochs.value = String(s.epochs);
    batchSize.value = String(s.batchSize);
    l2.value = String(s.l2);
    validationSplit.value = String(s.validationSplit);
    standardize.checked = s.standardize;
    seed.value = String(s.seed);
    maxRuntimeSeconds.value = s.maxRuntimeSeconds === null ? '' : String(s.maxRuntimeSeconds);
    earlyStopping.checked = s.earlyStopping !== null;
    patience.value = s.earlyStopping ? String(s.earlyStopping.patience) : '';
    minDelta.value = s.earlyStopping ? String(s.earlyStopping.minDelta) : '';
    modelName.value = s.modelName ?? '';
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const input of Object.values(inputs)) input.removeAttribute('aria-invalid');
    const units = hidden.value.split(',').map((u) => Number(u.trim()));
    const drops = dropout.value.trim() === '' ? [0] : dropout.value.split(',').map((d) => Number(d.trim()));
    if (drops.length !== 1 && drops.length !== units.length) {
      dropout.setAttribute('aria-invalid', 'true');
      outcome.replaceChildren(errorBox(new ApiError(0, 'invalid_form', `give one dropout for every layer or one per layer (${units.length})`)));
      return;
    }
    const sgd = optimizer.value === 'sgd';
    const spec: JobSpecInput = {
      datasetId: dataset.value,
      hidden: units.map((u, i) => ({ units: u, activation: activation.value as Activation, dropout: drops[drops.length === 1 ? 0 : i] })),
      ...(output.value ? { output: output.value as JobSpecInput['output'] } : {}),
      ...(loss.value ? { loss: loss.value as JobSpecInput['loss'] } : {}),
      optimizer: {
        name: sgd ? 'sgd' : 'adam',
        ...given('learningRate', learningRate),
        ...(sgd ? { ...given('momentum', momentum), nesterov: nesterov.checked } : { ...given('beta1', beta1), ...given('beta2', beta2), ...given('epsilon', epsilon) }),
        ...given('decay', decay),
        decayPer: decayPer.value as 'epoch' | 'step',
        ...given('clipNorm', clipNorm),
      },
      ...given('epochs', epochs),
      ...given('batchSize', batchSize),
      ...given('l2', l2),
      ...given('validationSplit', validationSplit),
      standardize: standardize.checked,
      ...given('seed', seed),
      ...given('maxRuntimeSeconds', maxRuntimeSeconds),
      earlyStopping: earlyStopping.checked ? { ...given('patience', patience), ...given('minDelta', minDelta) } : null,
      ...(modelName.value.trim() ? { modelName: modelName.value.trim() } : {}),
    };
    submit.disabled = true;
    outcome.replaceChildren();
    try {
      const job = await api.createJob(spec);
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      outcome.replaceChildren(errorBox(err));
      for (const name of invalidFields(err)) inputs[name]?.setAttribute('aria-invalid', 'true');
    } finally {
      submit.disabled = false;
    }
  });
  return () => { stopped = true; };
}

/** { key: value } when the number field is filled, {} when it is left to the service's default. */
function given<K extends string>(key: K, input: HTMLInputElement): Partial<Record<K, number>> {
  return input.value.trim() === '' ? {} : ({ [key]: input.valueAsNumber } as Record<K, number>);
}

function select(name: string, values: string[], emptyLabel = ''): HTMLSelectElement {
  return h('select', { name }, ...values.map((v) => h('option', { value: v }, v === '' ? emptyLabel : v.replace(/_/g, ' '))));
}

function numberInput(name: string, limits: { min?: number; max?: number; step?: number | 'any'; placeholder?: string }): HTMLInputElement {
  return h('input', { type: 'number', name, step: 'any', ...limits });
}

/** Maps the issue paths of a 400 ("body.optimizer.learningRate", "body.hidden[0].units") to form fields. */
function invalidFields(err: unknown): string[] {
  if (!(err instanceof ApiError) || !Array.isArray(err.details?.issues)) return [];
  return (err.details.issues as { path?: string }[]).map(({ path = '' }) => {
    if (path.startsWith('body.hidden')) return path.endsWith('.activation') ? 'activation' : path.endsWith('.dropout') ? 'dropout' : 'hidden';
    return path.replace(/\[\d+\]/g, '').split('.').pop() ?? '';
  });
}
