// Candlesticks with a volume pane underneath (TradingView lightweight-charts 5.x, the standalone build that
// defines window.LightweightCharts). The chart never receives a candle older than its last one through
// series.update (the library throws on that): an older bar that matches an existing candle is applied as a
// historical update, an older bar with no candle yet (a hopping window's final arriving after newer windows
// opened, or a merged session) is inserted and the data set again.
//
// The window's indicators (the hello message lists them; closed bars carry their values, computed by the server
// with the engine's code) are lines: over the candles (sma, ema, bollinger bands), over the volume, in an RSI pane
// fixed to 0–100 with its 30 and 70 levels, or in one lower pane (zscore, atr). Only closed bars have values, so a
// forming candle has none yet. Alerts of the shown symbol and window are markers on the candle they fired on;
// a backtest's would-have-fired alerts are squares of their own colour above the candles.

import { formatPercent, formatPrice, formatVolume, formatCount, formatInUnit, priceDecimals } from './format.js';
import { ruleTone } from './alerts.js';

const UP = '#26a69a';
const DOWN = '#ef5350';
const UP_VOLUME = 'rgba(38, 166, 154, 0.45)';
const DOWN_VOLUME = 'rgba(239, 83, 80, 0.45)';
const LINE_COLORS = ['#f0b90b', '#5b9cf6', '#c084fc', '#22d3ee', '#f472b6', '#a3e635', '#fb923c', '#e2e8f0'];
const LEVEL_COLOR = 'rgba(138, 147, 166, 0.45)';
const MARKER_COLORS = { down: DOWN, up: UP, warn: '#f0b90b', info: '#5b9cf6' };
const BACKTEST_COLOR = '#e879f9'; // --backtest in dashboard.css
/** Panes in the order they stack; price and volume always exist, the others only when something is drawn there. */
const PANE_ORDER = ['price', 'volume', 'rsi', 'lower'];

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

/** A line's point on a closed bar: its value, or whitespace (a gap) while the indicator is undefined. */
function toPoint(entry, name) {
  const value = entry.bar.indicators?.[name];
  return Number.isFinite(value) ? { time: entry.time, value } : { time: entry.time };
}

function alertKey(alert) {
  return alert.id ?? `${alert.rule}:${alert.symbol}:${alert.window}:${alert.window_start}`;
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
    this._lines = []; // { name, unit, pane, color, series, last }: one per indicator value, in the hello's order
    this._linesKey = '';
    this._alerts = new Map(); // key → alert of the shown symbol and window
    this._backtest = []; // a backtest's alerts of the shown symbol and window
    this._ruleUnits = new Map();
    this._container = container;
    this._precision = 2;
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
    this._markers = L.createSeriesMarkers(this._candles, []);
    this._drawn = []; // the markers set last, as given (the library's copy may drop fields it does not know)
    this._chart.subscribeCrosshairMove((param) => {
      this._hoverTime = param.time ?? null;
      this._renderLegend();
    });
  }

  /** Number of candles on the chart (for tests and the empty-state message). */
  get candleCount() {
    return this._candles.data().length;
  }

  /** The indicator lines drawn, for tests: name, pane and how many defined points. */
  get lines() {
    return this._lines.map((line) => ({
      name: line.name,
      pane: line.pane,
      paneIndex: line.series.getPane().paneIndex(),
      points: line.series.data().filter((p) => Number.isFinite(p.value)).length,
      last: line.series.data().findLast((p) => Number.isFinite(p.value))?.value ?? null,
    }));
  }

  /** The alert markers drawn, for tests: time (UTC seconds) and rule. */
  get markers() {
    return this._drawn.filter((m) => !m.backtest).map((m) => ({ time: m.time, rule: m.text }));
  }

  /** The backtest's markers drawn, for tests: time (UTC seconds) and rule. */
  get backtestMarkers() {
    return this._drawn.filter((m) => m.backtest).map((m) => ({ time: m.time, rule: m.rule }));
  }

  /**
   * Draws these indicators (the hello message's entries of the shown window) from now on: one line per value in
   * its pane. Giving the same ones again keeps the lines as they are.
   */
  setIndicators(indicators) {
    const key = JSON.stringify(indicators.map((i) => [i.name, i.type, i.pane, i.unit, i.values]));
    if (key === this._linesKey) return;
    this._linesKey = key;
    const L = window.LightweightCharts;
    for (const line of this._lines) this._chart.removeSeries(line.series); // emptied panes go with their last series
    this._lines = [];

    const planned = indicators.map((indicator, i) => ({
      indicator,
      pane: PANE_ORDER.includes(indicator.pane) ? indicator.pane : 'lower',
      color: LINE_COLORS[i % LINE_COLORS.length],
    }));
    const panes = PANE_ORDER.filter((pane) => pane === 'price' || pane === 'volume' || planned.some((p) => p.pane === pane));
    // Pane by pane, so that a pane is created after those above it.
    for (const pane of panes) {
      for (const { indicator, color } of planned.filter((p) => p.pane === pane)) {
        for (const name of indicator.values ?? []) {
          const band = indicator.type === 'bollinger';
          const middle = name.endsWith('.middle');
          const options = {
            color: band && middle ? `${color}99` : color,
            lineWidth: band && !middle ? 1 : 2,
            lineStyle: band && middle ? L.LineStyle.Dashed : L.LineStyle.Solid,
            priceLineVisible: false,
            lastValueVisible: false,
            crosshairMarkerVisible: false,
          };
          if (pane === 'price') options.priceFormat = this._priceFormat();
          if (pane === 'volume') options.priceFormat = { type: 'volume' };
          if (pane === 'rsi') {
            options.autoscaleInfoProvider = () => ({ priceRange: { minValue: 0, maxValue: 100 } });
            options.priceFormat = { type: 'price', precision: 1, minMove: 0.1 };
          }
          const series = this._chart.addSeries(L.LineSeries, options, panes.indexOf(pane));
          this._lines.push({ name, unit: indicator.unit, pane, color: options.color, series, last: null });
        }
      }
    }

    const rsi = this._lines.find((line) => line.pane === 'rsi');
    if (rsi) {
      for (const price of [30, 70]) {
        rsi.series.createPriceLine({ price, color: LEVEL_COLOR, lineWidth: 1, lineStyle: L.LineStyle.Dashed, axisLabelVisible: true, title: '' });
      }
    }

    this._chart.panes().forEach((pane, i) => pane.setStretchFactor(i === 0 ? 4 : i === 1 ? 1 : 1.4));
    this._setLines();
    this._renderLegend();
  }

  /** Stored alerts of the shown symbol and window: markers on their candles (loading a chart forgets them). */
  addAlerts(alerts, ruleUnits) {
    if (ruleUnits) this._ruleUnits = ruleUnits;
    for (const alert of alerts) this._alerts.set(alertKey(alert), alert);
    this._renderMarkers();
  }

  /** A backtest's alerts of the shown symbol and window, drawn apart from real ones; none clears them. */
  setBacktest(alerts) {
    this._backtest = alerts;
    this._renderMarkers();
  }

  /** A live alert of the shown symbol and window: a marker once its candle is on the chart. */
  addAlert(alert) {
    const key = alertKey(alert);
    if (this._alerts.has(key)) return;
    this._alerts.set(key, alert);
    this._renderMarkers();
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
    this._alerts = new Map();
    this._backtest = [];
    this._setPrecision(entries.at(-1)?.bar.close);
    this._setAll();
    this._chart.timeScale().scrollToRealTime();
  }

  clear() {
    this._entries = [];
    this._alerts = new Map();
    this._backtest = [];
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
      this._updateLines(entry);
      if (this._alerts.size) this._renderMarkers(); // an alert that came before its candle
    } else {
      const index = this._search(time);
      if (index >= 0) {
        if (entries[index].final && !final) return;
        entries[index] = entry;
        const historical = index !== entries.length - 1;
        this._candles.update(toCandle(entry), historical);
        this._volume.update(toVolume(entry), historical);
        this._updateLines(entry);
      } else {
        this._insert(entry);
      }
    }
    this._renderLegend();
  }

  /** Puts a closed bar's indicator values on the lines; a bar older than a line's last point sets its data again. */
  _updateLines(entry) {
    if (!entry.final || !entry.bar.indicators) return;
    let stale = false;
    for (const line of this._lines) {
      if (line.last == null || entry.time >= line.last) {
        line.series.update(toPoint(entry, line.name));
        line.last = entry.time;
      } else {
        stale = true;
      }
    }
    if (stale) this._setLines();
  }

  _setLines() {
    const closed = this._entries.filter((entry) => entry.final && entry.bar.indicators);
    for (const line of this._lines) {
      line.series.setData(closed.map((entry) => toPoint(entry, line.name)));
      line.last = closed.at(-1)?.time ?? null;
    }
  }

  _renderMarkers() {
    const markers = [];
    for (const alert of this._alerts.values()) {
      const time = barTime(alert);
      if (!Number.isFinite(time) || this._search(time) < 0) continue; // its candle is not on the chart (yet)
      const tone = ruleTone(alert.rule, Number(alert.value), this._ruleUnits.get(alert.rule));
      markers.push({
        time,
        position: tone === 'down' ? 'aboveBar' : 'belowBar',
        shape: tone === 'down' ? 'arrowDown' : tone === 'up' ? 'arrowUp' : 'circle',
        color: MARKER_COLORS[tone] ?? MARKER_COLORS.info,
        text: alert.rule,
        id: alertKey(alert),
      });
    }
    let backtest = 0;
    for (const alert of this._backtest) {
      const time = barTime(alert);
      if (!Number.isFinite(time) || this._search(time) < 0) continue;
      // No text: the legend names the rule, and the candle keeps the real alerts' labels readable.
      markers.push({ time, position: 'aboveBar', shape: 'square', color: BACKTEST_COLOR, id: `backtest:${alertKey(alert)}`, backtest: true, rule: alert.rule });
      backtest++;
    }
    this._container.dataset.backtestMarkers = String(backtest);
    markers.sort((a, b) => a.time - b.time);
    if (markers.length === 0 && this._drawn.length === 0) return;
    this._markers.setMarkers(markers);
    this._drawn = markers;
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
    this._setLines();
    this._renderMarkers();
    this._renderLegend();
  }

  _priceFormat() {
    return { type: 'price', precision: this._precision, minMove: 10 ** -this._precision };
  }

  _setPrecision(price) {
    if (!Number.isFinite(price)) return;
    this._precision = priceDecimals(price);
    this._candles.applyOptions({ priceFormat: this._priceFormat() });
    for (const line of this._lines) {
      if (line.pane === 'price') line.series.applyOptions({ priceFormat: this._priceFormat() });
    }
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
    // A forming candle has no indicator values yet: the legend shows the latest closed bar's.
    let closed = entry;
    for (let i = index; i >= 0 && !(closed.final && closed.bar.indicators); i--) closed = entries[i];
    for (const line of this._lines) {
      const span = document.createElement('span');
      span.className = 'legend-field legend-indicator';
      span.dataset.indicator = line.name;
      const name = document.createElement('span');
      name.className = 'legend-label';
      name.style.color = line.color;
      name.textContent = line.name;
      const number = document.createElement('span');
      number.className = 'num';
      // "undefined" while the indicator warms up; "—" before any closed bar has values.
      number.textContent = closed.final && closed.bar.indicators ? formatInUnit(closed.bar.indicators[line.name] ?? null, line.unit) : '—';
      span.append(name, ' ', number);
      nodes.push(span);
    }
    this._legend.replaceChildren(...nodes);
  }
}
