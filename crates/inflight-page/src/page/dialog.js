// The one question dialog, asked one question at a time, and the toasts.

import { el, setText } from './format.js';
import { $ } from './state.js';

let dialogs = Promise.resolve();

/** Asks the user through the one dialog; resolves to the field values, or null. */
export function ask(options) {
  const answer = dialogs.then(() => showDialog(options));
  dialogs = answer.catch(() => null);
  return answer;
}

function showDialog({ title, text, fields = [], check, ok, danger, error }) {
  return new Promise((resolve) => {
    const dialog = $('ask');
    setText($('ask-title'), title);
    setText($('ask-text'), text || '');
    $('ask-text').hidden = !text;
    setText($('ask-error'), error || '');
    $('ask-error').hidden = !error;
    setText($('ask-ok'), ok);
    $('ask-ok').classList.toggle('danger', Boolean(danger));
    const inputs = {};
    const box = $('ask-fields');
    box.replaceChildren();
    for (const field of fields) {
      const input = el('input', {
        name: field.name,
        type: field.type || 'text',
        placeholder: field.placeholder,
        maxlength: field.maxlength,
        autocomplete: 'off',
        spellcheck: 'false',
      });
      inputs[field.name] = input;
      box.append(el('label', { class: 'field' }, el('span', { text: field.label }), input));
    }
    if (check) {
      const input = el('input', { type: 'checkbox', name: check.name });
      inputs[check.name] = input;
      box.append(el('label', { class: 'check' }, input, ` ${check.label}`));
    }
    dialog.returnValue = '';
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'ok') return resolve(null);
      const values = {};
      for (const [name, input] of Object.entries(inputs)) {
        values[name] = input.type === 'checkbox' ? input.checked : input.value.trim();
      }
      resolve(values);
    }, { once: true });
    dialog.showModal();
    const first = fields.length ? inputs[fields[0].name] : $('ask-ok');
    first.focus();
  });
}

export function toast(text, kind) {
  let box = $('toasts');
  if (!box) {
    box = el('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const note = el('div', { class: `toast ${kind || ''}`, text });
  box.append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 8000 : 4000);
}
