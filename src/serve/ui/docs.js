// GET /docs: renders this server's /openapi.json for a person — every route
// with its parameters, request body and responses, and the schemas they
// name. Nothing is loaded from another origin; the token (when the server
// needs one) is the dashboard's, kept in this tab's sessionStorage.
(function () {
  'use strict';
  const TOKEN_KEY = 'modelbay-api-token';
  const needsToken = document.documentElement.dataset.auth === 'bearer';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // "#/components/schemas/Name" -> "Name"; anything else as JSON.
  function refName(schema) {
    return schema && typeof schema.$ref === 'string' ? schema.$ref.split('/').pop() : null;
  }
  function typeOf(schema) {
    if (!schema) return '';
    const ref = refName(schema);
    if (ref) return ref;
    if (schema.type === 'array') return 'array of ' + (typeOf(schema.items) || 'any');
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (schema.oneOf || schema.anyOf) return (schema.oneOf || schema.anyOf).map(typeOf).join(' | ');
    return schema.type || 'any';
  }

  function parametersTable(params) {
    const body = el('tbody');
    for (const p of params) {
      body.append(el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in),
                     el('td', {}, p.required ? 'required' : 'optional'), el('td', {}, typeOf(p.schema)),
                     el('td', {}, p.description || '')));
    }
    return el('table', {}, el('thead', {}, el('tr', {}, ...['name', 'in', '', 'type', 'description'].map(
      (h) => el('th', {}, h)))), body);
  }

  function operation(api, path, method, op) {
    const section = el('section', { class: 'op', 'data-path': path, 'data-method': method });
    section.append(el('h3', {}, el('span', { class: 'method ' + method }, method), path));
    if (op.summary) section.append(el('p', {}, op.summary));
    if (op.description) section.append(el('p', { class: 'muted' }, op.description));
    const params = (op.parameters || []).map((p) => (refName(p) ? api.components.parameters[refName(p)] : p));
    if (params.length) section.append(el('h4', {}, 'Parameters'), parametersTable(params));
    if (op.requestBody && op.requestBody.content) {
      section.append(el('h4', {}, 'Request body'));
      for (const [type, media] of Object.entries(op.requestBody.content)) {
        section.append(el('p', {}, el('code', {}, type), ' — ', typeOf(media.schema)));
      }
    }
    section.append(el('h4', {}, 'Responses'));
    const list = el('ul');
    for (const [code, r] of Object.entries(op.responses || {})) {
      const resp = refName(r) ? api.components.responses[refName(r)] : r;
      const schemas = Object.values((resp && resp.content) || {}).map((m) => typeOf(m.schema)).filter(Boolean);
      list.append(el('li', {}, el('code', {}, code), ' ', (resp && resp.description) || '',
                     schemas.length ? ' (' + schemas.join(', ') + ')' : ''));
    }
    section.append(list);
    return section;
  }

  function render(api) {
    const main = $('api');
    main.replaceChildren();
    const info = api.info || {};
    main.append(el('section', {}, el('h2', {}, (info.title || 'API') + ' ' + (info.version || '')),
                   info.description ? el('p', {}, info.description) : null));
    let count = 0;
    for (const [path, item] of Object.entries(api.paths || {})) {
      for (const method of ['get', 'head', 'post', 'put', 'delete']) {
        if (item[method]) { main.append(operation(api, path, method, item[method])); count++; }
      }
    }
    const schemas = (api.components && api.components.schemas) || {};
    if (Object.keys(schemas).length) {
      const section = el('section', { id: 'schemas' }, el('h2', {}, 'Schemas'));
      for (const [name, schema] of Object.entries(schemas)) {
        section.append(el('h4', { id: 'schema-' + name }, name),
                       el('pre', { class: 'schema' }, JSON.stringify(schema, null, 2)));
      }
      main.append(section);
    }
    $('status').textContent = count + ' operations';
    document.body.dataset.operations = String(count);
  }

  async function load() {
    const headers = { Accept: 'application/json' };
    if (needsToken) headers.Authorization = 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || '');
    const r = await fetch('/openapi.json', { headers, cache: 'no-store', credentials: 'omit' });
    if (r.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin('The server refused this token. Enter the right one.');
    }
    if (!r.ok) throw new Error('/openapi.json answered ' + r.status);
    $('login').hidden = true;
    render(await r.json());
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('login-error').textContent = message;
    $('status').textContent = 'token needed';
  }

  function start() {
    $('login').addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      load().catch((err) => { $('status').textContent = err.message; });
    });
    if (needsToken && !sessionStorage.getItem(TOKEN_KEY)) showLogin('');
    else load().catch((err) => { $('status').textContent = err.message; });
  }
  document.addEventListener('DOMContentLoaded', start);
})();
