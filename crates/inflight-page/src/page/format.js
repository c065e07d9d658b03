// Elements and the page's formats of times and sizes.
//
// Everything a server sends goes into the page through `el` and `setText`, as text
// (textContent, never markup).

/** An element; string children become text nodes, so data is never parsed as HTML. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'title') node.title = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Like the text dump: `0.35s`, `47.26s`, `1m34.00s`, `2h03m04.00s`. */
/**
 * The short label of a direction, also its chip's class: `in`, `out`, `work`, or the
 * value itself for one a newer server added.
 */
export function dirShort(direction) {
  return { inbound: 'in', outbound: 'out', work: 'work' }[direction] || direction;
}

export function duration(ms) {
  const hundredths = Math.round(Math.max(0, Number(ms) || 0) / 10);
  const fraction = String(hundredths % 100).padStart(2, '0');
  const total = Math.floor(hundredths / 100);
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h${two(minutes)}m${two(seconds)}.${fraction}s`;
  if (minutes > 0) return `${minutes}m${two(seconds)}.${fraction}s`;
  return `${seconds}.${fraction}s`;
}

/** Latencies of profiles and recent requests: `0.42ms`, `12.3ms`, `640ms`, `1.50s`. */
export function latency(ms) {
  const value = Math.max(0, Number(ms) || 0);
  if (value < 10) return `${value.toFixed(2)}ms`;
  if (value < 100) return `${value.toFixed(1)}ms`;
  if (value < 1000) return `${value.toFixed(0)}ms`;
  return duration(value);
}

export function bytes(n) {
  const value = Number(n) || 0;
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

export function localTime(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return String(rfc3339);
  return date.toLocaleTimeString(undefined, { hour12: false }) +
    `.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

export function attributesText(request) {
  return Object.entries(request.attributes || {}).map(([k, v]) => `${k}=${v}`).join(' ');
}
