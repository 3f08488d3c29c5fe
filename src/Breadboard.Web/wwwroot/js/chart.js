// Candlesticks with a volume pane underneath (TradingView lightweight-charts 5.x, the standalone build that
// defines window.LightweightCharts). The chart never receives a candle older than its last one through
// series.update (the library throws on that): an older bar that matches an existing candle is applied as a
// historical update, an older bar with no candle yet (a hopping window's final arriving after newer windows
// opened, or a merged session) is inserted and the data set again.

import { formatPercent, formatPrice, formatVolume, formatCount, priceDecimals } from './format.js';

const UP = '#26a69a';
const DOWN = '#ef5350';
const UP_VOLUME = 'rgba(38, 166, 154, 0.45)';
const DOWN_VOLUME = 'rgba(239, 83, 80, 0.45)';

/** lightweight-charts wants UTC seconds. */
export function barTime(bar) {
  return Date.parse(bar.window_start) / 1000;
}

function toCandle(entry) {
  const { bar, time } = entry;
  return { time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}

function toVolume(entry) {
  const { bar, time } = entry;
  return { time, value: bar.volume, color: bar.close >= bar.open ? UP_VOLUME : DOWN_VOLUME };
}

function isBar(bar) {
  return bar && ['open', 'high', 'low', 'close', 'volume'].every((key) => Number.isFinite(bar[key]));
}

export class BarChart {
  /**
   * @param {HTMLElement} container  the element the chart fills
   * @param {HTMLElement} legend  where OHLC of the hovered (or latest) candle are written
   */
  constructor(container, legend) {
    const L = window.LightweightCharts;
    this._legend = legend;
    this._entries = []; // { time, bar, final }, ascending by time: what the series hold, plus vwap and trades
    this._mergesWindows = false;
    this._hoverTime = null;
    this._chart = L.createChart(container, {
      autoSize: true,
      layout: {
        background: { type: L.ColorType.Solid, color: '#11151c' },
        textColor: '#8a93a6',
        fontSize: 11,
        fontFamily: 'ui-monospace, "SF Mono", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
        panes: { separatorColor: '#232a36', separatorHoverColor: 'rgba(90, 110, 140, 0.25)' },
        attributionLogo: true,
      },
      grid: {
        vertLines: { color: 'rgba(42, 50, 64, 0.45)' },
        horzLines: { color: 'rgba(42, 50, 64, 0.45)' },
      },
      crosshair: {
        mode: L.CrosshairMode.Normal,
        vertLine: { color: '#5d6b82', labelBackgroundColor: '#2b3445' },
        horzLine: { color: '#5d6b82', labelBackgroundColor: '#2b3445' },
      },
      rightPriceScale: { borderColor: '#232a36', scaleMargins: { top: 0.08, bottom: 0.06 } },
      timeScale: { borderColor: '#232a36', timeVisible: true, secondsVisible: false, rightOffset: 4, barSpacing: 9 },
    });
    this._candles = this._chart.addSeries(L.CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceLineStyle: L.LineStyle.Dotted,
    });
    this._volume = this._chart.addSeries(L.HistogramSeries, {
      priceFormat: { type: 'volume' },
      priceLineVisible: false,
      lastValueVisible: true,
    }, 1);
    const [pricePane, volumePane] = this._chart.panes();
    pricePane.setStretchFactor(3);
    volumePane.setStretchFactor(1);
    this._watermark = L.createTextWatermark(pricePane, {
      horzAlign: 'center',
      vertAlign: 'center',
      lines: [{ text: '', color: 'rgba(138, 147, 166, 0.07)', fontSize: 56, fontStyle: '600' }],
    });
    this._chart.subscribeCrosshairMove((param) => {
      this._hoverTime = param.time ?? null;
      this._renderLegend();
    });
  }

  /** Number of candles on the chart (for tests and the empty-state message). */
  get candleCount() {
    return this._candles.data().length;
  }

  /**
   * Replaces everything with a new (symbol, window) and its history.
   * @param {boolean} mergesWindows  session windows: a partial bar can swallow later partial candles
   */
  load(symbol, window, bars, mergesWindows) {
    this._mergesWindows = mergesWindows;
    this._hoverTime = null;
    this._watermark.applyOptions({ lines: [{ text: `${symbol}  ${window}`, color: 'rgba(138, 147, 166, 0.07)', fontSize: 56, fontStyle: '600' }] });
    this._chart.applyOptions({ timeScale: { secondsVisible: mergesWindows } });
    const entries = [];
    for (const bar of bars) {
      const time = barTime(bar);
      if (!isBar(bar) || !Number.isFinite(time)) continue;
      if (entries.length && time <= entries.at(-1).time) {
        if (time === entries.at(-1).time) entries[entries.length - 1] = { time, bar, final: true };
        continue;
      }
      entries.push({ time, bar, final: true });
    }
    this._entries = entries;
    this._setPrecision(entries.at(-1)?.bar.close);
    this._setAll();
    this._chart.timeScale().scrollToRealTime();
  }

  clear() {
    this._entries = [];
    this._setAll();
  }

  /** Applies a `bar` stream message; a final candle is fixed and ignores later partials for its window. */
  apply(bar, final) {
    const time = barTime(bar);
    if (!isBar(bar) || !Number.isFinite(time)) return;
    const entries = this._entries;
    const entry = { time, bar, final };
    const last = entries.at(-1);
    if (!last || time > last.time) {
      if (!last) this._setPrecision(bar.close);
      entries.push(entry);
      this._candles.update(toCandle(entry));
      this._volume.update(toVolume(entry));
    } else {
      const index = this._search(time);
      if (index >= 0) {
        if (entries[index].final && !final) return;
        entries[index] = entry;
        const historical = index !== entries.length - 1;
        this._candles.update(toCandle(entry), historical);
        this._volume.update(toVolume(entry), historical);
      } else {
        this._insert(entry);
      }
    }
    this._renderLegend();
  }

  _insert(entry) {
    const entries = this._entries;
    let at = entries.findIndex((e) => e.time > entry.time);
    if (at < 0) at = entries.length;
    if (this._mergesWindows) {
      // A session that grew backwards over later open sessions replaces them.
      const end = Date.parse(entry.bar.window_end) / 1000;
      let count = 0;
      while (at + count < entries.length && !entries[at + count].final && entries[at + count].time < end) count++;
      entries.splice(at, count, entry);
    } else {
      entries.splice(at, 0, entry);
    }
    this._setAll();
  }

  _search(time) {
    const entries = this._entries;
    let low = 0;
    let high = entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const value = entries[middle].time;
      if (value === time) return middle;
      if (value < time) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  _setAll() {
    this._candles.setData(this._entries.map(toCandle));
    this._volume.setData(this._entries.map(toVolume));
    this._renderLegend();
  }

  _setPrecision(price) {
    if (!Number.isFinite(price)) return;
    const precision = priceDecimals(price);
    this._candles.applyOptions({ priceFormat: { type: 'price', precision, minMove: 10 ** -precision } });
  }

  _renderLegend() {
    const entries = this._entries;
    let index = entries.length - 1;
    if (this._hoverTime != null) {
      const hovered = this._search(this._hoverTime);
      if (hovered >= 0) index = hovered;
    }
    const entry = entries[index];
    if (!entry) {
      this._legend.replaceChildren();
      return;
    }
    const { bar } = entry;
    const change = bar.open ? ((bar.close - bar.open) / bar.open) * 100 : 0;
    const direction = bar.close >= bar.open ? 'up' : 'down';
    const fields = [
      ['O', formatPrice(bar.open)],
      ['H', formatPrice(bar.high)],
      ['L', formatPrice(bar.low)],
      ['C', formatPrice(bar.close)],
      ['', formatPercent(change)],
      ['Vol', formatVolume(bar.volume)],
      ['VWAP', formatPrice(bar.vwap)],
      ['Trades', formatCount(bar.trades)],
    ];
    const nodes = fields.map(([label, value], i) => {
      const span = document.createElement('span');
      span.className = 'legend-field';
      if (label) {
        const name = document.createElement('span');
        name.className = 'legend-label';
        name.textContent = label;
        span.append(name, ' ');
      }
      const number = document.createElement('span');
      number.className = i < 5 ? `num ${direction}` : 'num';
      number.textContent = value;
      span.append(number);
      return span;
    });
    if (!entry.final) {
      const live = document.createElement('span');
      live.className = 'legend-live';
      live.textContent = 'forming';
      nodes.push(live);
    }
    this._legend.replaceChildren(...nodes);
  }
}
