// The admin ports the page watches (`?endpoints=`), and the one way it asks them.

/** A call with no answer by then counts the endpoint unreachable. */
const TIMEOUT_MS = 5_000;

/** `a:9084`, or a URL such as `http://a:9084/admin/`: the admin ports to watch. */
export function parseEndpoints(params) {
  const texts = (params.get('endpoints') || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (texts.length === 0) texts.push(location.host);
  const seen = new Set();
  const endpoints = [];
  for (const text of texts) {
    // Reached through `inflight web` (`server/e/host:port/`): named by the endpoint.
    const through = text.match(/^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/]+\/e\/([^/]+)\/?$/i);
    const label = through ? through[1] : text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
    if (seen.has(label)) continue;
    seen.add(label);
    let base = null;
    try {
      base = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${location.protocol}//${text}`);
      if (!base.pathname.endsWith('/')) base.pathname += '/';
      base.search = '';
      base.hash = '';
    } catch {
      base = null;
    }
    endpoints.push({
      label,
      base,
      state: base ? 'pending' : 'error',
      reason: base ? '' : 'not an address like host:port',
      list: null,
      receivedAt: 0,
      took: 0,
      busy: false,
      askedRead: false,
      recent: null,
      profile: null,
    });
  }
  return endpoints;
}

export class CallError extends Error {
  constructor(kind, message, status, hint) {
    super(message);
    this.kind = kind;
    this.status = status || 0;
    this.hint = hint || '';
  }
}

export async function call(ep, method, path, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const init = {
    method,
    headers,
    cache: 'no-store',
    credentials: 'omit',
    mode: 'cors',
    referrerPolicy: 'no-referrer',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, ep.base), init);
  } catch (error) {
    if (error && error.name === 'TimeoutError') {
      throw new CallError('unreachable', `no answer within ${TIMEOUT_MS / 1000}s`);
    }
    // The browser tells a refused connection and a refused origin apart to no one.
    if (ep.base.origin === location.origin) throw new CallError('unreachable', 'no connection');
    throw new CallError('unreachable', 'no connection, or this origin is not allowed', 0,
      `Nothing answered at ${ep.base.origin}, or it does not allow this page's origin: ` +
      `start it with allow_origin("${location.origin}") (the demo's --allow-origin), ` +
      'or watch the services through `inflight web`, which needs neither.');
  }
  const text = await response.text().catch(() => '');
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.error === 'string'
      ? data.error
      : (text.slice(0, 200) || response.statusText || 'no message');
    throw new CallError('http', message, response.status);
  }
  if (data === null || typeof data !== 'object') {
    throw new CallError('http', 'the answer is not the JSON of an admin port', response.status);
  }
  return data;
}
