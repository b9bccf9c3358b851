// The search page: state in the URL, debounced search-as-you-type, paging by infinite scroll.
import * as api from './api.js';
import { $, el } from './dom.js';
import { openDetail } from './detail.js';
import { setupAbout, setupClassify } from './panels.js';
import { card, moveFocus } from './results.js';
import { readUrl, writeUrl } from './state.js';

const PAGE = 60;
const MAX_K = 1000;
const DEBOUNCE_MS = 250;

let state = readUrl();
let upload = null; // the File of a search by example (not kept in the URL)
let hits = [];
let run = { id: 0, controller: null, hasMore: false, loading: false, started: 0, label: '' };
let lastPush = 0;

const grid = $('results');
const status = $('status');

function setStatus(text, kind = '') {
  status.className = `status ${kind}`;
  status.replaceChildren(...(Array.isArray(text) ? text : [text]));
}

function filters() {
  return { modality: state.modality, min: state.min, folder: state.folder, type: state.type,
    from: state.from, to: state.to, where: state.where };
}

function hasQuery() { return Boolean(state.q || state.similar || upload); }

function request(page, signal) {
  if (upload) return api.searchUpload(upload, filters(), page, signal);
  if (state.similar) return api.searchSimilar(state.similar, filters(), page, signal);
  return api.searchText(state.q, filters(), page, signal);
}

function showExample() {
  const box = $('example');
  if (!state.similar && !upload) { box.hidden = true; return; }
  const clear = el('button', { type: 'button', class: 'ghost small', onclick: () => { upload = null; state.similar = ''; commit(true); } }, '✕');
  const thumb = upload && upload.type.startsWith('image/') ? el('img', { src: URL.createObjectURL(upload), alt: '' })
    : state.similar ? el('img', { src: api.thumbnailUrl(state.similar), alt: '' }) : el('span', { class: 'wave' }, '♪');
  box.replaceChildren(thumb, el('span', {}, upload ? `Results like ${upload.name || 'your file'}` : `More like item #${state.similar}`), clear);
  box.hidden = false;
}

function updatePassCount() {
  const active = state.min > 0; // 0 means no threshold
  const passing = hits.filter((h) => h.score >= state.min).length;
  $('min-score-value').value = state.min.toFixed(2);
  $('pass-count').textContent = hits.length && active ? `${passing} of ${hits.length} pass` : '';
  for (const node of grid.children) node.classList.toggle('below', active && Number(node.dataset.score) < state.min);
}

function summary() {
  const seconds = ((performance.now() - run.started) / 1000).toFixed(2);
  const what = upload ? `like ${upload.name || 'your file'}` : state.similar ? `like item #${state.similar}` : `for “${state.q}”`;
  return `${hits.length}${run.hasMore ? '+' : ''} result${hits.length === 1 ? '' : 's'} ${what} · ${seconds} s`;
}

function emptyState() {
  if (state.min > 0) {
    const lower = el('button', { type: 'button', class: 'link', onclick: () => { state.min = Math.max(0, +(state.min - 0.1).toFixed(2)); $('min-score').value = state.min; commit(true); } }, 'lower the threshold?');
    return setStatus([`No results above ${state.min.toFixed(2)} — `, lower], 'empty');
  }
  setStatus('No results. Try other words, another modality, or clear the filters.', 'empty');
}

async function search({ more = false } = {}) {
  document.title = state.q ? `${state.q} · mmsearch` : 'mmsearch';
  showExample();
  $('where-error').hidden = true;
  if (!hasQuery()) {
    run.controller?.abort();
    hits = []; grid.replaceChildren(); run.hasMore = false;
    setStatus('Type to search, or drop an image or a sound anywhere on the page.', 'hint');
    updatePassCount();
    return;
  }
  if (more && (run.loading || !run.hasMore)) return;
  if (!more) { run.controller?.abort(); run.id += 1; run.started = performance.now(); }
  const id = run.id;
  const controller = more ? run.controller : new AbortController();
  run.controller = controller;
  run.loading = true;
  const offset = more ? hits.length : 0;
  const page = { offset, k: Math.min(PAGE, MAX_K - offset) };
  if (!more) { setStatus([el('span', { class: 'spinner' }), 'Searching…'], 'loading'); grid.classList.add('stale'); }
  else $('sentinel').classList.add('loading');
  try {
    const response = await request(page, controller.signal);
    if (id !== run.id) return;
    if (!more) { hits = []; grid.replaceChildren(); }
    const start = hits.length;
    hits.push(...response.results);
    run.hasMore = response.has_more;
    grid.append(...response.results.map((hit, n) => card(hit, start + n, { onOpen, onSimilar })));
    if (hits.length) setStatus(summary()); else emptyState();
  } catch (err) {
    if (err.name === 'AbortError' || id !== run.id) return;
    if (err.status === 400 && state.where) {
      $('where-error').textContent = err.message; $('where-error').hidden = false; $('more-filters').open = true;
    }
    setStatus(err.message, 'error');
  } finally {
    if (id === run.id) { run.loading = false; grid.classList.remove('stale'); $('sentinel').classList.remove('loading'); updatePassCount(); }
  }
}

// -- state <-> controls ----------------------------------------------------
function toControls() {
  $('q').value = state.q;
  for (const b of $('modality').children) b.setAttribute('aria-checked', String(b.dataset.value === state.modality));
  $('min-score').value = state.min;
  for (const [id, key] of [['folder', 'folder'], ['type', 'type'], ['date-from', 'from'], ['date-to', 'to'], ['where', 'where']]) $(id).value = state[key];
  if (state.folder || state.type || state.from || state.to || state.where) $('more-filters').open = true;
}

function commit(push) {
  const now = Date.now();
  writeUrl(state, { push: push || now - lastPush > 1500 });
  if (push) lastPush = now;
  toControls();
  search();
}

function onOpen(hit) { openDetail(hit, { onSimilar }); }

function onSimilar(hit) {
  upload = null; state.q = ''; state.similar = String(hit.id);
  commit(true);
  window.scrollTo({ top: 0 });
}

function searchByFile(file) {
  if (!file) return;
  if (!/^(image|audio)\//.test(file.type) && !/\.(jpe?g|png|webp|gif|bmp|tiff?|wav|flac|ogg|mp3)$/i.test(file.name)) {
    setStatus(`${file.name}: not an image or a sound`, 'error');
    return;
  }
  upload = file; state.q = ''; state.similar = '';
  commit(true);
}

function setupControls() {
  let timer = 0;
  $('q').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { upload = null; state.similar = ''; state.q = $('q').value.trim(); lastPush = Date.now() - (state.q ? 0 : 2000); commit(false); }, DEBOUNCE_MS);
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault(); clearTimeout(timer);
    upload = null; state.similar = ''; state.q = $('q').value.trim(); commit(true);
  });
  $('modality').addEventListener('click', (e) => {
    const b = e.target.closest('button'); if (!b) return;
    state.modality = b.dataset.value; commit(true);
  });
  $('min-score').addEventListener('input', (e) => { state.min = parseFloat(e.target.value); updatePassCount(); });
  $('min-score').addEventListener('change', () => commit(true));
  for (const [id, key] of [['folder', 'folder'], ['type', 'type'], ['date-from', 'from'], ['date-to', 'to'], ['where', 'where']]) {
    $(id).addEventListener('change', (e) => { state[key] = e.target.value.trim(); commit(true); });
    $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') e.target.blur(); });
  }
  $('clear-filters').addEventListener('click', () => {
    Object.assign(state, { folder: '', type: '', from: '', to: '', where: '', min: 0, modality: 'all' }); commit(true);
  });
  $('file-input').addEventListener('change', (e) => { searchByFile(e.target.files[0]); e.target.value = ''; });
}

function setupDropAndPaste() {
  const overlay = $('drop-overlay');
  let depth = 0;
  const dialogOpen = () => document.querySelector('dialog[open]');
  document.addEventListener('dragenter', (e) => { if (dialogOpen()) return; e.preventDefault(); depth += 1; overlay.hidden = false; });
  document.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  document.addEventListener('dragover', (e) => { if (!dialogOpen()) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    if (dialogOpen()) return;
    e.preventDefault(); depth = 0; overlay.hidden = true;
    searchByFile(e.dataTransfer?.files?.[0]);
  });
  document.addEventListener('paste', (e) => {
    const file = [...(e.clipboardData?.files || [])].find((f) => /^(image|audio)\//.test(f.type));
    if (file) { e.preventDefault(); searchByFile(file); }
  });
}

function setupKeys() {
  document.addEventListener('keydown', (e) => {
    const typing = e.target.matches('input, textarea');
    if (e.key === '/' && !typing && !document.querySelector('dialog[open]')) { e.preventDefault(); $('q').focus(); $('q').select(); return; }
    if (e.key === 'Escape' && typing) { e.target.blur(); return; }
    if (e.target === $('q') && e.key === 'ArrowDown') { e.preventDefault(); grid.querySelector('.card')?.focus(); return; }
    if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(e.key) && e.target.closest?.('.card')) {
      e.preventDefault(); moveFocus(grid, e.key);
    }
  });
}

function setupPaging() {
  new IntersectionObserver((entries) => { if (entries.some((x) => x.isIntersecting)) search({ more: true }); },
    { rootMargin: '600px' }).observe($('sentinel'));
}

window.addEventListener('popstate', () => { upload = null; state = readUrl(); toControls(); search(); });

setupControls();
setupDropAndPaste();
setupKeys();
setupPaging();
setupAbout();
setupClassify();
toControls();
search();
