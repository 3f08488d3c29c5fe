// The alert feed (newest first, from GET /api/alerts and then the stream) and the toasts live alerts raise.
// Alerts are keyed by id, so a reload after a reconnect never shows one twice.

import { formatAlertValue, formatTimestamp } from './format.js';

const MAX_ITEMS = 200;
const MAX_TOASTS = 4;
const TOAST_MS = 6000;

/**
 * The colour of a rule's alerts: down for drops, up for spikes, warn for volume; by the value's sign for a change
 * in percent; info for the rest (an expression rule's value is an indicator's level, whose sign says nothing).
 */
export function ruleTone(rule, value, unit) {
  if (/drop/i.test(rule)) return 'down';
  if (/spike/i.test(rule)) return 'up';
  if (/volume|surge/i.test(rule)) return 'warn';
  if (unit && unit !== 'percent') return 'info';
  return value < 0 ? 'down' : 'up';
}

function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

export class AlertFeed {
  /**
   * @param {HTMLElement} list  the <ol> of alerts
   * @param {HTMLElement} counter  shows how many alerts are listed
   * @param {HTMLElement} toasts  the toast stack
   * @param {(alert: object) => void} onPick  a click on an alert or a toast
   */
  constructor(list, counter, toasts, onPick) {
    this._list = list;
    this._counter = counter;
    this._toasts = toasts;
    this._onPick = onPick;
    this._ids = new Map(); // id → element
    this.ruleUnits = new Map(); // rule name → unit of its values (percent, factor, number), when the hello message says
    list.addEventListener('click', (event) => {
      const item = event.target.closest('[data-testid="alert-item"]');
      if (item?.alert) onPick(item.alert);
    });
  }

  /** Replaces the feed with GET /api/alerts (ascending by ts), keeping alerts that arrived live meanwhile. */
  load(alerts) {
    const sorted = alerts.filter((a) => a && a.rule && a.symbol).sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    for (const alert of sorted) this._add(alert, false);
    this._count();
  }

  /** A live `alert` message: listed first and raised as a toast. */
  push(alert) {
    if (!alert || !alert.rule || !alert.symbol) return;
    if (this._add(alert, true)) this._toast(alert);
    this._count();
  }

  _key(alert) {
    return alert.id ?? `${alert.rule}:${alert.symbol}:${alert.window}:${alert.window_start}`;
  }

  _add(alert, live) {
    const key = this._key(alert);
    if (this._ids.has(key)) return false;
    const item = this._render(alert, live);
    this._ids.set(key, item);
    // Newest first by alert time, so a reload that returns older alerts puts them below the live ones.
    const time = Date.parse(alert.ts);
    let before = this._list.firstElementChild;
    while (before && before.alertTime > time) before = before.nextElementSibling;
    this._list.insertBefore(item, before);
    while (this._list.childElementCount > MAX_ITEMS) {
      const oldest = this._list.lastElementChild;
      this._ids.delete(this._key(oldest.alert));
      oldest.remove();
    }
    return true;
  }

  _render(alert, live) {
    const item = document.createElement('li');
    const tone = ruleTone(alert.rule, Number(alert.value), this.ruleUnits.get(alert.rule));
    item.className = `alert-item${live ? ' fresh' : ''}`;
    item.dataset.tone = tone;
    item.dataset.testid = 'alert-item';
    item.dataset.rule = alert.rule;
    item.dataset.symbol = alert.symbol;
    item.alert = alert;
    item.alertTime = Date.parse(alert.ts);
    item.title = `${alert.rule} ${alert.symbol} ${alert.window}: value ${alert.value}, threshold ${alert.threshold}`
      + ` (window ${alert.window_start} – ${alert.window_end})`;
    const top = document.createElement('div');
    top.className = 'alert-line';
    // The ' ' between spans keep textContent readable ("price_drop ETH-USD 5m −6.20 %"); flex ignores them.
    top.append(span(`rule-badge ${tone}`, alert.rule), ' ', span('alert-symbol', alert.symbol), ' ',
      span('alert-window', alert.window ?? ''), ' ', span(`num alert-value ${tone}`, formatAlertValue(alert, this.ruleUnits)));
    const bottom = document.createElement('div');
    bottom.className = 'alert-line muted';
    const threshold = alert.threshold == null ? '' : `threshold ${formatAlertValue({ ...alert, value: alert.threshold }, this.ruleUnits)}`;
    bottom.append(span('alert-threshold', threshold), ' ', span('num alert-time', formatTimestamp(alert.ts)));
    item.append(top, ' ', bottom);
    return item;
  }

  _toast(alert) {
    const tone = ruleTone(alert.rule, Number(alert.value), this.ruleUnits.get(alert.rule));
    const toast = document.createElement('div');
    toast.className = 'toast';
    toast.dataset.tone = tone;
    toast.dataset.testid = 'toast';
    toast.setAttribute('role', 'status');
    const head = document.createElement('div');
    head.className = 'toast-head';
    head.append(span(`rule-badge ${tone}`, alert.rule), ' ', span('toast-symbol', alert.symbol), ' ', span('alert-window', alert.window ?? ''));
    const body = document.createElement('div');
    body.className = 'toast-body';
    body.append(span(`num toast-value ${tone}`, formatAlertValue(alert, this.ruleUnits)), ' ', span('num muted', formatTimestamp(alert.ts)));
    toast.append(head, ' ', body);
    toast.addEventListener('click', () => {
      this._onPick(alert);
      this._dismiss(toast);
    });
    this._toasts.prepend(toast);
    while (this._toasts.childElementCount > MAX_TOASTS) this._toasts.lastElementChild.remove();
    setTimeout(() => this._dismiss(toast), TOAST_MS);
  }

  _dismiss(toast) {
    if (!toast.isConnected || toast.classList.contains('leaving')) return;
    toast.classList.add('leaving');
    setTimeout(() => toast.remove(), 250);
  }

  _count() {
    this._counter.textContent = String(this._list.childElementCount);
  }
}
