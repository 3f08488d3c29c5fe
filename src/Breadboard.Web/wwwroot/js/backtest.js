// The rules panel's backtest form: a proposed expression rule (name, window, when, for) run by POST /api/backtest
// over the last hours of the chart's symbol. It needs no API key: the server only reads for it. One line says how
// it went; the alerts it would have fired go to the chart as markers of their own (main.js draws them).

import { postBacktest } from './api.js';
import { formatCount } from './format.js';

export class BacktestForm {
  /**
   * @param {HTMLFormElement} form  the form, with inputs named name, window, when, for and hours
   * @param {HTMLButtonElement} toggle  opens and closes it
   * @param {() => string | null} symbol  the chart's symbol, which the backtest runs over
   * @param {(result: object | null) => void} onResult  a finished run's answer with its symbol and hours; null to clear
   */
  constructor(form, toggle, symbol, onResult) {
    this._form = form;
    this._toggle = toggle;
    this._symbol = symbol;
    this._onResult = onResult;
    this._summary = form.querySelector('[data-testid="backtest-summary"]');
    this._run = form.querySelector('[data-testid="backtest-run"]');
    this._request = null; // the AbortController of the run under way
    toggle.addEventListener('click', () => this.open(form.hidden));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this._start();
    });
    form.querySelector('[data-action="clear"]').addEventListener('click', () => this.clear());
  }

  /** The windows a rule may name (the hello message's). */
  setWindows(names) {
    const select = this._form.elements.window;
    const chosen = select.value;
    select.replaceChildren(...names.map((name) => new Option(name, name)));
    if (names.includes(chosen)) select.value = chosen;
  }

  open(show = true) {
    this._form.hidden = !show;
    this._toggle.setAttribute('aria-expanded', String(show));
    if (show) this._form.elements.when.focus();
  }

  /** Starts from a rule of the pipeline (the hello message's entry): its name, window, when and for. */
  prefill(rule) {
    const { elements } = this._form;
    elements.name.value = rule.name ?? '';
    if ([...elements.window.options].some((o) => o.value === rule.window)) elements.window.value = rule.window;
    elements.when.value = rule.when ?? '';
    elements.for.value = Number.isInteger(rule.for) && rule.for > 1 ? String(rule.for) : '';
    this.open(true);
  }

  /** Stops a run under way, and takes its markers and summary away. */
  clear() {
    this._request?.abort();
    this._request = null;
    this._run.disabled = false;
    this._say('', null);
    this._onResult(null);
  }

  async _start() {
    const symbol = this._symbol();
    if (!symbol) {
      this._say('pick a symbol first: the backtest runs over the chart\'s symbol', 'error');
      return;
    }
    const { elements } = this._form;
    const rule = { name: elements.name.value.trim(), window: elements.window.value, when: elements.when.value.trim() };
    if (elements.for.value !== '') rule.for = Number(elements.for.value);
    const hours = Number(elements.hours.value);
    this._request?.abort();
    const request = new AbortController();
    this._request = request;
    this._run.disabled = true;
    this._say(`running ${rule.name} over ${hours} h of ${symbol}…`, 'running');
    let answer;
    try {
      answer = await postBacktest({ rule, hours, symbol }, request.signal);
    } catch (error) {
      if (error.name === 'AbortError') return; // cleared, or a newer run took over
      throw error;
    } finally {
      if (this._request === request) {
        this._request = null;
        this._run.disabled = false;
      }
    }
    if (!answer.ok) {
      this._say(answer.error, 'error');
      return;
    }
    const { result } = answer;
    const count = Number(result.alert_count);
    this._say(
      `${formatCount(count)} alert${count === 1 ? '' : 's'} of ${result.rule} on ${symbol} over ${hours} h (${formatCount(result.ticks)} ticks, ${formatCount(result.bars)} bars)`,
      'done',
    );
    this._onResult({ ...result, symbol, window: rule.window, hours });
  }

  _say(text, state) {
    this._summary.textContent = text;
    if (state) this._summary.dataset.state = state;
    else delete this._summary.dataset.state;
  }
}
