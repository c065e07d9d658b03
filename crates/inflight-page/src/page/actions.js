// What the user does to an endpoint: give it a read token, terminate or cancel one of
// its requests (asking for the kill token when it wants one).

import { ask, toast } from './dialog.js';
import { call } from './endpoints.js';
import { duration } from './format.js';
import { pollList } from './poll.js';
import { changed } from './render.js';
import { endpoints, killToken, tokens } from './state.js';

export async function askReadToken(ep, force) {
  if (ep.askedRead && !force) return;
  ep.askedRead = true;
  const values = await ask({
    title: `Read token for ${ep.label}`,
    text: 'This admin port needs a bearer token to show its requests. It is kept for this browser tab only.',
    error: ep.reason,
    fields: [{ name: 'token', label: 'read token', type: 'password' }],
    check: endpoints.length > 1 ? { name: 'all', label: 'use it for every endpoint' } : null,
    ok: 'Use token',
  });
  if (!values || !values.token) return;
  for (const target of values.all ? endpoints : [ep]) {
    tokens.set(target, 'read', values.token);
    // A wrong token brings the question back once more.
    target.askedRead = false;
    pollList(target);
  }
}

/** Terminate (`DELETE`) or cancel (`POST .../cancel`) one request, asking first. */
export async function control(ep, request, action, ageMs) {
  const cancel = action === 'cancel';
  const fields = [{
    name: 'message',
    label: cancel ? 'message (optional, kept with the request)' : 'message (optional, kept with the request and told to its client)',
    placeholder: 'why',
    maxlength: 1024,
  }];
  if (cancel) fields.push({ name: 'grace', label: 'terminate it if still running after (default 5s)', placeholder: '5s' });
  const values = await ask({
    title: `${cancel ? 'Cancel' : 'Terminate'} #${request.id} on ${ep.label}?`,
    text: `${request.method} ${request.uri} — ${request.status}, ${duration(ageMs ?? request.elapsed_ms)} in flight` +
      (cancel ? '. The handler is asked to stop; it is terminated after the grace period.' : '. Its work is dropped now.'),
    fields,
    ok: cancel ? 'Cancel request' : 'Terminate',
    danger: !cancel,
  });
  if (!values) return;
  const body = {};
  if (values.message) body.message = values.message;
  if (cancel && values.grace) body.grace = values.grace;
  const path = cancel ? `requests/${request.id}/cancel` : `requests/${request.id}`;
  let token = killToken(ep);
  for (;;) {
    try {
      await call(ep, cancel ? 'POST' : 'DELETE', path, { token, body });
      toast(cancel ? `asked #${request.id} on ${ep.label} to cancel` : `terminated #${request.id} on ${ep.label}`, 'ok');
      if (ep.list) {
        if (cancel) {
          ep.list.requests = ep.list.requests.map((r) => (r.id === request.id ? { ...r, cancel_requested: true } : r));
        } else {
          // Its outbound calls end with it.
          ep.list.requests = ep.list.requests.filter((r) => r.id !== request.id && r.parent !== request.id);
        }
      }
      changed();
      pollList(ep);
      return;
    } catch (error) {
      const tokenTrouble = error.status === 401 || (error.status === 403 && !request.cancel_forbidden);
      if (!tokenTrouble) {
        const text = error.status === 404
          ? `#${request.id} on ${ep.label} is no longer in flight`
          : `${action} #${request.id} on ${ep.label} failed: ${error.message}`;
        toast(text, error.status === 404 ? '' : 'error');
        pollList(ep);
        return;
      }
      const entered = await ask({
        title: `Kill token for ${ep.label}`,
        text: `Terminating and cancelling on this admin port needs its kill token. It is kept for this browser tab only.`,
        error: error.message,
        fields: [{ name: 'token', label: 'kill token', type: 'password' }],
        check: endpoints.length > 1 ? { name: 'all', label: 'use it for every endpoint' } : null,
        ok: 'Retry',
      });
      if (!entered || !entered.token) {
        toast(`not done: ${error.message}`, 'error');
        return;
      }
      for (const target of entered.all ? endpoints : [ep]) tokens.set(target, 'kill', entered.token);
      token = entered.token;
    }
  }
}
