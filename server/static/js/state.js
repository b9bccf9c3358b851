// The search state lives in the URL: ?q=…  or ?similar=ID, plus the filters.

const KEYS = ['q', 'similar', 'modality', 'min', 'folder', 'type', 'from', 'to', 'where'];

export function readUrl() {
  const p = new URLSearchParams(location.search);
  const s = Object.fromEntries(KEYS.map((k) => [k, p.get(k) || '']));
  s.modality = ['image', 'audio', 'video', 'text'].includes(s.modality) ? s.modality : 'all';
  s.min = Math.max(0, Math.min(1, parseFloat(s.min) || 0));
  return s;
}

export function writeUrl(state, { push }) {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    const v = state[k];
    if (v && !(k === 'modality' && v === 'all') && !(k === 'min' && !(v > 0))) p.set(k, v);
  }
  const url = p.toString() ? `?${p}` : location.pathname;
  if (url === location.search || (url === location.pathname && !location.search)) return;
  history[push ? 'pushState' : 'replaceState']({}, '', url);
}
