// The rules panel: every rule of the pipeline (the hello message lists them) with what it tests and its last
// firing: when, on which symbol, with what value. Seeded from GET /api/alerts?rule=…&limit=1 per rule, then kept
// up to date by the stream's alerts. An expression rule has a "backtest" action that starts the backtest form
// from it.

import { formatInUnit, formatTimestamp } from './format.js';
import { ruleTone } from './alerts.js';

function span(className, text) {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

export class RulesPanel {
  /**
   * @param {HTMLElement} list  the <ol> of rules
   * @param {HTMLElement} counter  shows how many rules there are
   * @param {(alert: object) => void} onPick  a click on a rule's last firing
   * @param {(rule: object) => void} onBacktest  a click on a rule's backtest action
   */
  constructor(list, counter, onPick, onBacktest) {
    this._list = list;
    this._counter = counter;
    this._rules = new Map(); // name → { rule, element, last }
    list.addEventListener('click', (event) => {
      const item = event.target.closest('[data-testid="rule-item"]');
      if (event.target.closest('[data-action="backtest"]')) {
        const entry = item && this._rules.get(item.dataset.rule);
        if (entry) onBacktest(entry.rule);
        return;
      }
      const last = item && this._rules.get(item.dataset.rule)?.last;
      if (last) onPick(last);
    });
  }

  /** The rule names, in the pipeline's order. */
  names() {
    return [...this._rules.keys()];
  }

  /** Replaces the rules with the hello message's; a rule that stays keeps its last firing. */
  setRules(rules) {
    const previous = this._rules;
    this._rules = new Map();
    for (const rule of rules) {
      if (!rule || typeof rule.name !== 'string' || this._rules.has(rule.name)) continue;
      const entry = { rule, element: null, last: previous.get(rule.name)?.last ?? null };
      entry.element = this._render(entry);
      this._rules.set(rule.name, entry);
    }
    this._list.replaceChildren(...[...this._rules.values()].map((entry) => entry.element));
    this._counter.textContent = String(this._rules.size);
  }

  /** An alert, stored or live: becomes its rule's last firing when it is later than the one shown. */
  offer(alert) {
    const entry = alert && this._rules.get(alert.rule);
    if (!entry) return;
    const time = Date.parse(alert.ts);
    if (!Number.isFinite(time) || (entry.last && Date.parse(entry.last.ts) >= time)) return;
    entry.last = alert;
    const element = this._render(entry);
    entry.element.replaceWith(element);
    entry.element = element;
  }

  _render({ rule, last }) {
    const item = document.createElement('li');
    item.className = `rule-item${last ? ' fired' : ''}`;
    item.dataset.testid = 'rule-item';
    item.dataset.rule = rule.name;
    const tone = ruleTone(rule.name, Number(last?.value), rule.unit);
    item.dataset.tone = tone;
    const head = document.createElement('div');
    head.className = 'rule-line';
    head.append(span(`rule-badge ${tone}`, rule.name), ' ', span('alert-window', rule.window ?? ''));
    if (typeof rule.when === 'string') {
      const action = document.createElement('button');
      action.type = 'button';
      action.className = 'rule-action';
      action.dataset.action = 'backtest';
      action.dataset.testid = 'rule-backtest';
      action.textContent = 'backtest';
      action.title = `Backtest a variant of ${rule.name} over the stored history`;
      head.append(action);
    }
    const description = span('rule-description', rule.description ?? rule.type ?? '');
    description.dataset.field = 'description';
    const firing = document.createElement('div');
    firing.className = 'rule-line muted';
    firing.dataset.field = 'last';
    if (last) {
      item.title = `last fired on ${last.symbol} ${last.window}, window ${last.window_start} – ${last.window_end}; click to chart it`;
      firing.append(
        span('num rule-time', formatTimestamp(last.ts)), ' ',
        span('alert-symbol', last.symbol), ' ',
        span(`num rule-value ${tone}`, formatInUnit(last.value, rule.unit)),
      );
    } else {
      firing.append(span('rule-never', 'not fired yet'));
    }
    item.append(head, ' ', description, ' ', firing);
    return item;
  }
}
