// Small DOM helpers for the views: build elements without innerHTML (names come from users), and
// format what the API returns for people.
import { ApiError, type JobStatus, type SearchStatus } from './api.js';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** h('a', { href: '#/jobs', class: 'x', onclick: fn }, 'text', child) */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Fills a list table's body with rows, or with one row across every column saying it is empty, and
 * says in `note` when the page holds only the newest of more.
 */
export function fillList(
  body: HTMLTableSectionElement, note: HTMLElement, rows: HTMLTableRowElement[],
  page: { items: unknown[]; total: number }, noun: string, ...empty: Child[]
): void {
  body.replaceChildren(...rows);
  const columns = body.parentElement?.querySelectorAll('thead th').length || 1;
  if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: columns, class: 'empty' }, ...empty)));
  note.textContent = page.total > page.items.length ? `Showing the newest ${page.items.length} of ${page.total} ${noun}.` : '';
}

/** A labelled form control; the hint says what the service does when the field is left alone. */
export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('span', { class: 'hint' }, hint) : null);
}

/** The error as the API worded it: its message, and its code for whoever reports it. */
export function errorBox(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : new ApiError(0, 'client_error', err instanceof Error ? err.message : String(err));
  return h('div', { class: 'error', role: 'alert' },
    h('span', { class: 'error-message' }, e.message), ' ', h('code', { class: 'error-code' }, e.code));
}

/** A job's status, or a search's (which shares its words and colours). */
export function statusBadge(status: JobStatus | SearchStatus): HTMLElement {
  return h('span', { class: `badge badge-${status}`, 'data-status': status }, status);
}

export function progressBar(fraction: number, label: string): HTMLProgressElement {
  return h('progress', { max: 1, value: Math.max(0, Math.min(1, fraction)), 'aria-label': label }, `${Math.round(fraction * 100)}%`);
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/**
 * An id as lists show it: the first characters, the whole id on hover (title) and a copy button beside
 * it, so nobody has to dig an id out of a tooltip. `href` makes the short id a link.
 */
export function idChip(id: string, href?: string): HTMLElement {
  const text = href ? h('a', { href, class: 'mono', title: id }, shortId(id)) : h('span', { class: 'mono', title: id }, shortId(id));
  return h('span', { class: 'id-chip', 'data-id': id }, text, copyButton(id, 'Copy the full id'));
}

/** A small button that puts `text` on the clipboard and says so for a moment. */
export function copyButton(text: string, label = 'Copy'): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'copy', title: label, 'aria-label': label, 'data-copy': text }, 'copy');
  button.addEventListener('click', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'copied';
    } catch {
      // No clipboard (plain http on another host): select the text so Ctrl+C works.
      window.prompt('Copy:', text);
    }
    setTimeout(() => { button.textContent = 'copy'; }, 1200);
  });
  return button;
}

export function when(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function seconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/**
 * A number as people read it in a cell: 3 significant digits, an exponent past a million (a diverged loss
 * of 1e45 prints as "1.23e+45", never as 46 digits), and "—" for what is missing or not finite.
 */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  if (a >= 1000 && Number.isInteger(x)) return x.toLocaleString('en-US');
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  const s = x.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A chart legend's figure: four significant digits, an exponent once it would be long. */
export function legendNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-4) ? v.toExponential(3) : v.toPrecision(4);
}

export function percent(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A Delete button: asks first, calls remove, then refresh; the API's refusal shows in `problem`. */
export function deleteButton(
  question: string, remove: () => Promise<unknown>, refresh: () => Promise<void>, problem: HTMLElement,
): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'link danger' }, 'Delete');
  button.addEventListener('click', async () => {
    if (!confirm(question)) return;
    button.disabled = true;
    try {
      await remove();
      problem.replaceChildren();
      await refresh();
    } catch (err) {
      problem.replaceChildren(errorBox(err));
      button.disabled = false;
    }
  });
  return button;
}

/**
 * Keeps a list page live: loads, redraws only when what was loaded changed (so a tick or a hover is
 * never lost to a refresh), polls every 2 s while `busy` says something runs and every 5 s otherwise,
 * and on a failure shows it in `problem` and tries again in 10 s. Returns the function that stops it.
 */
export function keepLive<T>(load: () => Promise<T>, show: (value: T) => void, busy: (value: T) => boolean, problem: HTMLElement): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let shown = '';
  const refresh = async () => {
    try {
      const value = await load();
      if (stopped) return;
      const now = JSON.stringify(value);
      if (now !== shown) {
        shown = now;
        show(value);
      }
      problem.replaceChildren();
      timer = setTimeout(refresh, busy(value) ? 2000 : 5000);
    } catch (err) {
      if (stopped) return;
      problem.replaceChildren(errorBox(err));
      timer = setTimeout(refresh, 10_000);
    }
  };
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A button that asks first, then runs `action`, disabled meanwhile; a failure shows in `problem`. */
export function confirmedAction(button: HTMLButtonElement, question: string, action: () => Promise<void>, problem: HTMLElement): void {
  button.addEventListener('click', async () => {
    if (!confirm(question)) return;
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      problem.replaceChildren(errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
}
