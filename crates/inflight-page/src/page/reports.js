// What the Recent and Profile tabs share: both are redrawn only when a report changed,
// and their times tick in between.

import { endpoints, state } from './state.js';

export const reportSignature = { recent: '', profile: '' };

export function reportsSignature(kind, part) {
  return JSON.stringify([state.filter, endpoints.map((ep) => {
    const got = ep[kind];
    if (!got) return [ep.label, 'pending'];
    if (got.error) return [ep.label, got.error.message];
    return [ep.label, got.report.pid, got.report[part]];
  })]);
}

export const reportTickers = [];
