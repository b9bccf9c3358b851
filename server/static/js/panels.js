// The classify and about panels.
import * as api from './api.js';
import { $, el, formatBytes } from './dom.js';

export function setupAbout() {
  $('open-about').addEventListener('click', async () => {
    const list = $('about-facts');
    $('about').showModal();
    list.replaceChildren(el('dd', { class: 'muted' }, 'Loading…'));
    try {
      const i = await api.info();
      const counts = Object.entries(i.counts).map(([m, n]) => `${n.toLocaleString()} ${m}`).join(' · ');
      list.replaceChildren(...[['model', i.model_id], ['items', counts || 'none'], ['files', i.files.toLocaleString()],
        ['index type', `${i.index_type} (dim ${i.dim})`], ['size on disk', formatBytes(i.bytes_on_disk)],
        ['location', i.db], ['created', i.created_at]].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    } catch (err) {
      list.replaceChildren(el('dd', { class: 'inline-error' }, err.message));
    }
  });
}

function fill(probability) {
  const node = el('span', { class: 'fill' });
  node.style.width = `${Math.round(probability * 100)}%`; // CSSOM, not a style attribute (the CSP forbids those)
  return node;
}

function bars(result) {
  return el('div', { class: 'classified' },
    el('div', { class: 'title' }, result.source, el('span', { class: 'muted' }, ` · ${result.modality}`)),
    ...result.scores.map((s) => el('div', { class: 'bar-row' },
      el('span', {}, s.label),
      el('span', { class: 'bar' }, fill(s.probability)),
      el('span', { class: 'muted' }, `${(s.probability * 100).toFixed(0)}%`))));
}

export function setupClassify() {
  const out = $('classify-results');
  const run = async (files) => {
    if (!files.length) return;
    out.replaceChildren(el('p', { class: 'muted' }, 'Classifying…'));
    try {
      const response = await api.classify($('classify-labels').value, files);
      out.replaceChildren(...response.results.map(bars));
    } catch (err) {
      out.replaceChildren(el('p', { class: 'inline-error' }, err.message));
    }
  };
  $('open-classify').addEventListener('click', () => $('classify').showModal());
  $('classify-files').addEventListener('change', (e) => run([...e.target.files]));
  const zone = $('classify-drop');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); e.stopPropagation(); zone.classList.add('hover'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('hover'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault(); e.stopPropagation(); zone.classList.remove('hover');
    run([...e.dataTransfer.files]);
  });
}
