// The detail dialog: larger preview, file facts, catalog fields, links.
import * as api from './api.js';
import { $, basename, el, formatBytes, formatEpoch } from './dom.js';
import { clock } from './results.js';

function largePreview(row, mediaUrl) {
  if (row.modality === 'text') return el('blockquote', { class: 'big-text' }, row.text || '');
  if (row.modality === 'audio') {
    const start = row.start_s || 0;
    const audio = el('audio', { controls: true, autoplay: true, src: `${mediaUrl}#t=${start}` });
    const words = row.kind === 'transcript' ? el('blockquote', { class: 'transcript' }, row.text || '') : null;
    return el('div', { class: 'big-audio' }, el('img', { src: api.thumbnailUrl(row.id), alt: '' }), audio, words);
  }
  if (row.modality === 'video' && mediaUrl) { // plays from the span's start (the server answers range requests)
    const start = row.start_s || 0;
    const video = el('video', { class: 'big-video', controls: true, autoplay: true, playsinline: true,
      poster: api.thumbnailUrl(row.id), src: `${mediaUrl}#t=${start}`, 'data-start': start });
    video.addEventListener('loadedmetadata', () => { if (video.currentTime < start) video.currentTime = start; });
    return video;
  }
  return el('img', { class: 'big-image', src: mediaUrl || api.thumbnailUrl(row.id), alt: basename(row.path) });
}

function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
}

export async function openDetail(hit, { onSimilar }) {
  const dialog = $('detail');
  const body = $('detail-body');
  body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  if (!dialog.open) dialog.showModal();
  let detail;
  try {
    detail = await api.item(hit.id);
  } catch (err) {
    body.replaceChildren(el('p', { class: 'inline-error' }, err.message));
    return;
  }
  const { item: row, file } = detail;
  const dims = file.width && file.height ? `${file.width} × ${file.height}` : null;
  const clip = row.modality === 'audio' ? `${(row.start_s || 0).toFixed(2)}–${(row.end_s || 0).toFixed(2)} s`
    : row.modality === 'video' ? `${clock(row.start_s)}–${clock(row.end_s)} (${row.kind})` : null;
  body.replaceChildren(
    el('div', { class: 'detail' },
      el('div', { class: 'detail-preview' }, largePreview(row, detail.media_url)),
      el('div', { class: 'detail-info' },
        el('h2', {}, row.modality === 'text' ? (row.ref || 'caption') : basename(row.path)),
        el('p', { class: 'path', title: row.path }, row.path),
        facts([['score', hit.score?.toFixed(4)], ['modality', row.modality], ['size', formatBytes(file.size_bytes)],
          ['dimensions', dims], ['clip', clip], ['captured', file.taken_at], ['camera', file.camera],
          ['modified', formatEpoch(row.mtime)], ['label', row.label], ['on disk', file.exists ? 'yes' : 'missing']]),
        el('div', { class: 'row' },
          detail.media_url ? el('a', { class: 'button', href: detail.media_url, target: '_blank', rel: 'noopener' }, 'Open original') : null,
          el('button', { type: 'button', class: 'button', onclick: () => { dialog.close(); onSimilar(hit); } }, '≈ More like this')),
        el('details', { class: 'fields' }, el('summary', {}, 'All catalog fields'),
          facts(Object.entries(row))))));
}
