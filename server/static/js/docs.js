// A small offline renderer of the OpenAPI schema: one box per endpoint with its parameters.
import { el } from './dom.js';

function schemaType(schema = {}) {
  if (schema.anyOf) return schema.anyOf.map(schemaType).filter((t) => t !== 'null').join(' | ');
  if (schema.enum) return schema.enum.join(' | ');
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || 'object';
}

function limits(schema = {}) {
  const s = schema.anyOf ? schema.anyOf.find((x) => x.type !== 'null') || {} : schema;
  return [['≥', s.minimum], ['≤', s.maximum], ['<', s.exclusiveMaximum], ['max length', s.maxLength]]
    .filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ');
}

function parameterRows(op, spec) {
  const rows = (op.parameters || []).map((p) => [p.name, p.in, schemaType(p.schema), limits(p.schema),
    p.description || p.schema?.description || '']);
  const ref = op.requestBody?.content?.['multipart/form-data']?.schema?.$ref;
  const body = ref ? spec.components.schemas[ref.split('/').pop()] : null;
  for (const [name, s] of Object.entries(body?.properties || {})) rows.push([name, 'form', schemaType(s), limits(s), s.description || '']);
  return rows;
}

async function render() {
  const spec = await (await fetch('/openapi.json')).json();
  const boxes = [];
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const rows = parameterRows(op, spec);
      boxes.push(el('section', { class: 'endpoint' },
        el('div', {}, el('span', { class: `method ${method}` }, method.toUpperCase()), el('code', {}, path)),
        el('p', {}, op.description || op.summary || ''),
        rows.length ? el('table', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', {}, i ? c : el('code', {}, c)))))) : null));
    }
  }
  document.getElementById('endpoints').replaceChildren(...boxes);
}

render();
