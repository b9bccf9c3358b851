// Thin wrappers over the JSON API. Every error comes back as {error: "one line"}.

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(url, options = {}) {
  const response = await fetch(url, { credentials: 'same-origin', ...options });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, body.error || response.statusText);
  return body;
}

function params(filters, page) {
  const p = new URLSearchParams();
  p.set('k', page.k); p.set('offset', page.offset);
  if (filters.modality && filters.modality !== 'all') p.set('modality', filters.modality);
  if (filters.min > 0) p.set('threshold', filters.min);
  for (const [key, name] of [['folder', 'folder'], ['type', 'type'], ['from', 'date_from'], ['to', 'date_to'], ['where', 'where']]) {
    if (filters[key]) p.set(name, filters[key]);
  }
  return p;
}

export function searchText(q, filters, page, signal) {
  const p = params(filters, page); p.set('q', q);
  return call(`/api/search?${p}`, { signal });
}

export function searchSimilar(id, filters, page, signal) {
  return call(`/api/items/${encodeURIComponent(id)}/similar?${params(filters, page)}`, { signal });
}

export function searchUpload(file, filters, page, signal) {
  const form = new FormData(); form.append('file', file, file.name || 'pasted');
  return call(`/api/search/upload?${params(filters, page)}`, { method: 'POST', body: form, signal });
}

export const item = (id) => call(`/api/items/${encodeURIComponent(id)}`);
export const info = () => call('/api/info');

export function classify(labels, files) {
  const form = new FormData(); form.append('labels', labels);
  for (const f of files) form.append('files', f, f.name);
  return call('/api/classify', { method: 'POST', body: form });
}

export const thumbnailUrl = (id) => `/api/items/${encodeURIComponent(id)}/thumbnail`;
export const mediaUrl = (id) => `/api/items/${encodeURIComponent(id)}/media`;
