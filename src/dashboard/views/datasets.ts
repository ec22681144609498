// #/datasets: the stored datasets, upload forms (CSV, or IDX images + labels such as Fashion-MNIST), and
// from each dataset a link to train on it.
import { api, type Dataset } from '../api.js';
import { bytes, deleteButton, errorBox, field, fillList, h, idChip, when } from '../dom.js';

export function datasetsView(root: HTMLElement): () => void {
  const body = h('tbody');
  const problem = h('div');
  const note = h('p', { class: 'muted' });
  let stopped = false;

  const refresh = async () => {
    try {
      const list = await api.listDatasets();
      if (stopped) return;
      fillList(body, note, list.items.map((d) => row(d, refresh, problem)), list, 'datasets', 'No datasets yet: upload a CSV file below.');
    } catch (err) {
      if (!stopped) problem.replaceChildren(errorBox(err));
    }
  };

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Datasets')),
    problem,
    h('table', { class: 'list', id: 'datasets' },
      h('thead', {}, h('tr', {},
        h('th', {}, 'Name'), h('th', {}, 'Task'), h('th', { class: 'num' }, 'Rows'), h('th', { class: 'num' }, 'Features'),
        h('th', { class: 'num' }, 'Size'), h('th', {}, 'Uploaded'), h('th', {}, ''))),
      body),
    note,
    uploadForm(refresh),
    idxForm(refresh),
  );
  void refresh();
  return () => { stopped = true; };
}

function row(d: Dataset, refresh: () => Promise<void>, problem: HTMLElement): HTMLTableRowElement {
  const remove = deleteButton(`Delete dataset "${d.name}"? Jobs and models made from it are kept.`,
    () => api.deleteDataset(d.id), refresh, problem);
  const task = d.task === 'classification' && d.classes ? `classification (${d.classes.length} classes)` : d.task;
  return h('tr', { 'data-dataset': d.id },
    h('td', {}, h('strong', {}, d.name), ' ', idChip(d.id)),
    h('td', { title: d.classes ? `classes: ${d.classes.join(', ')}` : `target: ${d.targetName}` }, task),
    h('td', { class: 'num' }, d.rows.toLocaleString()),
    h('td', { class: 'num', title: d.featureNames.join(', ') }, d.features),
    h('td', { class: 'num' }, bytes(d.bytes)),
    h('td', { class: 'muted' }, when(d.createdAt)),
    h('td', { class: 'actions' }, h('a', { href: `#/new?dataset=${encodeURIComponent(d.id)}` }, 'Train'), ' ', remove),
  );
}

function uploadForm(uploaded: () => Promise<void>): HTMLElement {
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', required: true });
  const name = h('input', { type: 'text', name: 'name', maxlength: 200, placeholder: 'from the file name' });
  const target = h('input', { type: 'text', name: 'target', maxlength: 200, placeholder: 'the last column' });
  const task = h('select', { name: 'task' },
    h('option', { value: '' }, 'infer from the labels'),
    h('option', { value: 'classification' }, 'classification'),
    h('option', { value: 'regression' }, 'regression'));
  const submit = h('button', { type: 'submit' }, 'Upload');
  const outcome = h('div', { class: 'outcome' });
  const form = h('form', { class: 'card form', id: 'upload-form' },
    h('h2', {}, 'Upload a CSV dataset'),
    h('p', { class: 'muted' }, 'A header row, numeric feature columns and one label column.'),
    h('div', { class: 'fields' },
      field('File', file), field('Name', name), field('Label column', target), field('Task', task)),
    h('div', { class: 'form-actions' }, submit),
    outcome,
  );
  // The name follows the chosen file until the user types one: a failed upload's name must not stick
  // to the next file.
  let typed = false;
  name.addEventListener('input', () => { typed = name.value !== ''; });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen && !typed) name.value = chosen.name.replace(/\.[^.]+$/, '');
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    await uploading(submit, outcome, `Uploading ${chosen.name}…`, async () => {
      const d = await api.uploadCsv(chosen, {
        name: name.value.trim() || chosen.name.replace(/\.[^.]+$/, '') || 'dataset',
        target: target.value.trim() || undefined,
        task: (task.value || undefined) as 'classification' | 'regression' | undefined,
      });
      outcome.replaceChildren(stored(d, d.task));
      form.reset();
      typed = false;
      await uploaded();
    });
  });
  return form;
}

/** IDX files as MNIST and Fashion-MNIST ship them (gzipped or not): images idx3, labels idx1. */
function idxForm(uploaded: () => Promise<void>): HTMLElement {
  const images = h('input', { type: 'file', name: 'images', required: true });
  const labels = h('input', { type: 'file', name: 'labels', required: true });
  const name = h('input', { type: 'text', name: 'name', maxlength: 200, placeholder: 'idx' });
  const classNames = h('input', { type: 'text', name: 'classNames', maxlength: 20000, placeholder: 'e.g. T-shirt, Trouser, … (optional)' });
  const submit = h('button', { type: 'submit' }, 'Upload');
  const outcome = h('div', { class: 'outcome' });
  const form = h('form', { class: 'card form', id: 'idx-form' },
    h('h2', {}, 'Upload IDX images and labels'),
    h('p', { class: 'muted' }, 'The MNIST layout, e.g. Fashion-MNIST\'s train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz, gzipped or not.'),
    h('div', { class: 'fields' },
      field('Images (idx3)', images), field('Labels (idx1)', labels), field('Name', name),
      field('Class names', classNames, 'comma-separated, in label order 0, 1, …')),
    h('div', { class: 'form-actions' }, submit),
    outcome,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const imageFile = images.files?.[0];
    const labelFile = labels.files?.[0];
    if (!imageFile || !labelFile) return;
    await uploading(submit, outcome, `Uploading ${imageFile.name} and ${labelFile.name}…`, async () => {
      const names = classNames.value.split(',').map((c) => c.trim()).filter(Boolean).join(',');
      const d = await api.uploadIdx(imageFile, labelFile, { name: name.value.trim() || 'idx', classNames: names || undefined });
      outcome.replaceChildren(stored(d, `${d.classes?.length ?? 0} classes`));
      form.reset();
      await uploaded();
    });
  });
  return form;
}

/** What an upload stored, with a link to train on it. */
function stored(d: Dataset, what: string): HTMLElement {
  return h('p', { class: 'ok' }, `Stored "${d.name}": ${d.rows.toLocaleString()} rows, ${d.features} features, ${what}. `,
    h('a', { href: `#/new?dataset=${encodeURIComponent(d.id)}` }, 'Train on it'));
}

/** One upload from a form: the button off while it runs, a note meanwhile, the API's words if it fails. */
async function uploading(submit: HTMLButtonElement, outcome: HTMLElement, note: string, work: () => Promise<void>): Promise<void> {
  submit.disabled = true;
  outcome.replaceChildren(h('p', { class: 'muted' }, note));
  try {
    await work();
  } catch (err) {
    outcome.replaceChildren(errorBox(err));
  } finally {
    submit.disabled = false;
  }
}
