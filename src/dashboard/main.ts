// The dashboard's entry (bundled by esbuild into dist/public/app.js): hash routes to views, and the
// dialog that asks for the API key the first time the service answers 401.
import { api, apiKey, forgetApiKey, setKeyPrompt } from './api.js';
import { h, when } from './dom.js';
import { datasetsView } from './views/datasets.js';
import { jobView } from './views/job.js';
import { jobsView } from './views/jobs.js';
import { compareView } from './views/compare.js';
import { modelView } from './views/model.js';
import { modelsView } from './views/models.js';
import { newJobView } from './views/new-job.js';
import { newSearchView } from './views/new-search.js';
import { searchView } from './views/search.js';
import { searchesView } from './views/searches.js';

/** A view fills the element it is given and returns what stops its timers and streams. */
type Cleanup = () => void;

const main = document.getElementById('view') as HTMLElement;
let cleanup: Cleanup | null = null;

function route(): void {
  cleanup?.();
  main.replaceChildren();
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean);
  const section = parts[0] ?? 'jobs';
  if (section === 'jobs' && parts[1]) cleanup = jobView(main, decodeURIComponent(parts[1]));
  else if (section === 'datasets') cleanup = datasetsView(main);
  else if (section === 'models' && parts[1]) cleanup = modelView(main, decodeURIComponent(parts[1]));
  else if (section === 'models') cleanup = modelsView(main);
  else if (section === 'compare') cleanup = compareView(main, (query.get('jobs') ?? '').split(',').filter(Boolean));
  else if (section === 'new') cleanup = newJobView(main, query);
  else if (section === 'searches' && parts[1] === 'new') cleanup = newSearchView(main, query);
  else if (section === 'searches' && parts[1]) cleanup = searchView(main, decodeURIComponent(parts[1]));
  else if (section === 'searches') cleanup = searchesView(main);
  else cleanup = jobsView(main);
  // The nav link of the page: New search is a page of its own beside New job.
  const current = section === 'compare' ? 'jobs' : section === 'searches' && parts[1] === 'new' ? 'new-search' : section;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-section]')) {
    link.toggleAttribute('aria-current', link.dataset.section === current);
  }
  const titles: Record<string, string> = { new: 'New job', 'new-search': 'New search' };
  document.title = `${titles[current] ?? current[0].toUpperCase() + current.slice(1)} · MLP service`;
}

// ---------------------------------------------------------------- the API key

const dialog = document.getElementById('key-dialog') as HTMLDialogElement;
const keyForm = dialog.querySelector('form') as HTMLFormElement;
const keyInput = dialog.querySelector('input[name="key"]') as HTMLInputElement;
const keyReason = dialog.querySelector('.reason') as HTMLElement;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;
dialog.querySelector('button.cancel')?.addEventListener('click', () => dialog.close());

setKeyPrompt((reason) => new Promise((resolve, reject) => {
  keyReason.textContent = reason;
  keyInput.value = '';
  const settle = () => {
    keyForm.removeEventListener('submit', submitted);
    dialog.removeEventListener('close', closed);
  };
  const submitted = (e: SubmitEvent) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    settle();
    dialog.close();
    signOut.hidden = false;
    resolve(key);
  };
  const closed = () => {
    settle();
    reject(new Error('no API key given'));
  };
  keyForm.addEventListener('submit', submitted);
  dialog.addEventListener('close', closed);
  dialog.showModal();
}));

signOut.hidden = apiKey() === null;
signOut.addEventListener('click', () => {
  forgetApiKey();
  signOut.hidden = true;
  route();
});

// ---------------------------------------------------------------- the service's nodes

/** A footer line per live node (GET /v1/nodes): which one answered, its role and the jobs it trains. */
const footer = document.getElementById('nodes') as HTMLElement;
async function showNodes(): Promise<void> {
  try {
    const { items } = await api.listNodes();
    footer.replaceChildren(h('span', {}, `${items.length} node${items.length === 1 ? '' : 's'}: `),
      ...items.map((n) => h('span', { class: 'node', 'data-node': n.id, title: `up since ${when(n.startedAt)}, last heartbeat ${when(n.heartbeatAt)}` },
        h('code', {}, n.id), ` ${n.role}${n.self ? ' (answering)' : ''}, ${n.running.length ? `training ${n.running.length}` : 'idle'}`)));
  } catch {
    footer.replaceChildren(); // an older service without /v1/nodes, or no key yet: nothing to show
  }
  setTimeout(showNodes, 10_000);
}

window.addEventListener('hashchange', route);
route();
void showNodes();
