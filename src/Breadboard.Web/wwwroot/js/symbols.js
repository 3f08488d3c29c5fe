// The watchlist: one row per symbol with its last price and its change against the first trade of the trailing
// 24 h. The API gives that reference price, so every streamed tick can recompute the change locally.

import { formatPercent, formatPrice } from './format.js';

const FLASH_UP = 'rgba(38, 166, 154, 0.18)';
const FLASH_DOWN = 'rgba(239, 83, 80, 0.18)';
// Ticks arrive every 100 ms; a row flashes at most this often so a busy list pulses instead of flickering.
const FLASH_EVERY_MS = 1200;

function directionClass(value) {
  if (value > 0) return 'up';
  if (value < 0) return 'down';
  return 'flat';
}

export class SymbolList {
  /**
   * @param {HTMLElement} list  the <ul> that holds the rows
   * @param {HTMLElement} counter  shows how many symbols there are
   * @param {(symbol: string) => void} onSelect
   */
  constructor(list, counter, onSelect) {
    this._list = list;
    this._counter = counter;
    this._rows = new Map(); // symbol → { element, price, change, first, last, assetClass }
    this._selected = null;
    list.addEventListener('click', (event) => {
      const row = event.target.closest('[data-symbol]');
      if (row) onSelect(row.dataset.symbol);
    });
    list.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      const symbols = this.symbols();
      const at = symbols.indexOf(this._selected);
      const next = symbols[Math.max(0, Math.min(symbols.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)))];
      if (next && next !== this._selected) {
        event.preventDefault();
        onSelect(next);
        this._rows.get(next)?.element.focus();
      }
    });
  }

  symbols() {
    return [...this._rows.keys()];
  }

  has(symbol) {
    return this._rows.has(symbol);
  }

  lastPrice(symbol) {
    return this._rows.get(symbol)?.last ?? null;
  }

  changePercent(symbol) {
    const row = this._rows.get(symbol);
    return row ? this._change(row) : null;
  }

  /** Replaces the reference prices and last prices with a fresh GET /api/symbols answer. */
  load(symbols) {
    for (const item of symbols) {
      if (!item || typeof item.symbol !== 'string') continue;
      const last = Number(item.last_price);
      const reference = Number(item.reference_price);
      const row = this._row(item.symbol, item.asset_class);
      if (Number.isFinite(last)) {
        row.last = last;
        row.first = Number.isFinite(reference) && reference > 0 ? reference : last;
      }
      this._render(row);
    }
    this._count();
  }

  /** Applies a `ticks` stream message's items; a symbol never seen before gets a row (its change starts at 0). */
  applyTicks(items) {
    let added = false;
    for (const tick of items) {
      if (!tick || typeof tick.symbol !== 'string') continue;
      const price = Number(tick.price);
      if (!Number.isFinite(price)) continue;
      if (!this._rows.has(tick.symbol)) added = true;
      const row = this._row(tick.symbol, tick.asset_class);
      const previous = row.last;
      row.last = price;
      if (row.first == null) row.first = price;
      this._render(row);
      if (previous != null && price !== previous) this._flash(row, price > previous);
    }
    if (added) this._count();
  }

  select(symbol) {
    this._selected = symbol;
    for (const [name, row] of this._rows) {
      const selected = name === symbol;
      row.element.classList.toggle('selected', selected);
      row.element.setAttribute('aria-selected', String(selected));
      row.element.tabIndex = selected ? 0 : -1;
    }
    this._rows.get(symbol)?.element.scrollIntoView({ block: 'nearest' });
  }

  _change(row) {
    if (row.first == null || row.last == null || row.first === 0) return null;
    return ((row.last - row.first) / row.first) * 100;
  }

  _row(symbol, assetClass) {
    let row = this._rows.get(symbol);
    if (row) {
      if (assetClass && !row.assetClass) {
        row.assetClass = assetClass;
        row.tag.textContent = assetClass;
      }
      return row;
    }
    const element = document.createElement('li');
    element.className = 'symbol-row';
    element.dataset.testid = 'symbol-row';
    element.dataset.symbol = symbol;
    element.setAttribute('role', 'option');
    element.setAttribute('aria-selected', 'false');
    element.tabIndex = this._rows.size === 0 ? 0 : -1;
    const name = document.createElement('span');
    name.className = 'symbol-name';
    const ticker = document.createElement('span');
    ticker.className = 'ticker';
    ticker.textContent = symbol;
    const tag = document.createElement('span');
    tag.className = 'asset-class';
    tag.textContent = assetClass ?? '';
    name.append(ticker, tag);
    const price = document.createElement('span');
    price.className = 'num price';
    price.textContent = '—';
    const change = document.createElement('span');
    change.className = 'num change flat';
    change.textContent = '—';
    element.append(name, price, change);
    row = { element, price, change, tag, first: null, last: null, assetClass: assetClass ?? null };
    this._rows.set(symbol, row);
    // Keep the list alphabetical, so a symbol that appears in the stream lands where a reader looks for it.
    const after = [...this._rows.keys()].filter((s) => s > symbol).sort()[0];
    this._list.insertBefore(element, after ? this._rows.get(after).element : null);
    if (symbol === this._selected) this.select(symbol);
    return row;
  }

  _render(row) {
    row.price.textContent = formatPrice(row.last);
    const change = this._change(row);
    row.change.textContent = formatPercent(change);
    row.change.className = `num change ${directionClass(change)}`;
  }

  _flash(row, up) {
    row.price.classList.toggle('up', up);
    row.price.classList.toggle('down', !up);
    const now = performance.now();
    if (now - (row.flashedAt ?? -Infinity) < FLASH_EVERY_MS) return;
    row.flashedAt = now;
    row.element.animate([{ backgroundColor: up ? FLASH_UP : FLASH_DOWN }, { backgroundColor: 'transparent' }],
      { duration: 650, easing: 'ease-out' });
  }

  _count() {
    this._counter.textContent = String(this._rows.size);
  }
}
