// The results grid: one card per hit, keyboard movement between cards.
import { mediaUrl, thumbnailUrl } from './api.js';
import { basename, el, parentName } from './dom.js';

function audioPlayer(hit) {
  const start = hit.start_s || 0;
  const audio = el('audio', { controls: true, preload: 'none', src: `${mediaUrl(hit.id)}#t=${start}`,
    'data-start': start, 'aria-label': `play ${basename(hit.path)}` });
  audio.addEventListener('loadedmetadata', () => { if (audio.currentTime < start) audio.currentTime = start; });
  return audio;
}

function preview(hit) {
  if (hit.modality === 'text') {
    return el('div', { class: 'text-card' }, el('p', {}, `“${hit.text || ''}”`));
  }
  return el('img', { class: 'thumb', loading: 'lazy', decoding: 'async', src: thumbnailUrl(hit.id),
    alt: basename(hit.path), width: 256, height: 256 });
}

/** Seconds as mm:ss.s (h:mm:ss.s from an hour on), as `mmsearch query` prints a span. */
export function clock(seconds) {
  const t = Math.max(0, Math.round((seconds || 0) * 10) / 10);
  const [h, m] = [Math.floor(t / 3600), Math.floor((t % 3600) / 60)];
  const s = (t % 60).toFixed(1).padStart(4, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${String(m).padStart(2, '0')}:${s}`;
}

export function card(hit, index, { onOpen, onSimilar }) {
  const title = hit.modality === 'text' ? (hit.ref || basename(hit.path)) : basename(hit.path);
  const sub = hit.modality === 'text' ? 'caption'
    : hit.modality === 'video' ? `${clock(hit.start_s)}–${clock(hit.end_s)} · ${parentName(hit.path)}` : parentName(hit.path);
  const node = el('li', { class: `card ${hit.modality}`, tabindex: 0, dataset: { index, id: hit.id, score: hit.score },
    'aria-label': `${title}, score ${hit.score.toFixed(3)}` },
  el('div', { class: 'media' }, preview(hit), el('span', { class: 'score' }, hit.score.toFixed(3)),
    el('span', { class: `badge ${hit.modality}` }, hit.modality)),
  hit.modality === 'audio' ? audioPlayer(hit) : null,
  hit.kind === 'transcript' ? el('p', { class: 'transcript', title: `${clock(hit.start_s)}–${clock(hit.end_s)}` },
    `${clock(hit.start_s)} “${hit.text || ''}”`) : null, // the words said; the player starts at start_s
  el('div', { class: 'meta' },
    el('div', { class: 'names' }, el('span', { class: 'title', title: hit.path }, title), el('span', { class: 'sub' }, sub)),
    el('button', { type: 'button', class: 'similar', title: 'More like this',
      onclick: (e) => { e.stopPropagation(); onSimilar(hit); } }, '≈ similar')));
  node.addEventListener('click', (e) => { if (!e.target.closest('audio, button')) onOpen(hit); });
  node.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target === node) { e.preventDefault(); onOpen(hit); } // else Enter also presses the dialog's close button
  });
  return node;
}

export function moveFocus(grid, key) {
  const cards = [...grid.querySelectorAll('.card')];
  const current = cards.indexOf(document.activeElement);
  if (current < 0) { cards[0]?.focus(); return; }
  const top = cards[0].offsetTop;
  const columns = Math.max(1, cards.filter((c) => c.offsetTop === top).length);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[key];
  const next = cards[Math.max(0, Math.min(cards.length - 1, current + step))];
  next.focus();
  next.scrollIntoView({ block: 'nearest' });
}
