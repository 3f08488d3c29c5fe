// The backtest report's page (BacktestReport.cs writes it): reads the JSON block the file carries and draws a
// summary, per rule a timeline of its firings, and per symbol and window the dashboard's own candlestick chart.
//
// The imports name the dashboard's modules in wwwroot/js: ReportAssets bundles them and this file into one classic
// script, since a page opened from a file cannot load modules. Every name in the data (symbols, rules) may be
// hostile: it goes into the page as text (textContent, dataset, canvas text), never as markup.
//
// What tests read: data-* attributes on [data-testid="rule-timeline"], its rows and [data-testid="report-chart"]
// (data-markers is how many alert markers the chart drew, which its canvas cannot tell), and body[data-state].

import { BarChart } from './chart.js';
import { formatCount } from './format.js';
import { ruleTone } from './alerts.js';

const ROW = 20; // px per symbol in a timeline
const AXIS = 22; // px of time axis under a timeline's rows
const TONE_COLORS = { down: '#ef5350', up: '#26a69a', warn: '#f0b90b', info: '#5b9cf6' };
const BEFORE_COLOR = '#8a93a6';
const MINUTE = 60_000;
const STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000, 2 * 86_400_000, 7 * 86_400_000, 30 * 86_400_000, 365 * 86_400_000];

const data = JSON.parse(document.getElementById('report-data').textContent);
const compared = data.counts.baseline != null;
document.body.classList.toggle('compared', compared);
const ruleUnits = new Map(data.pipeline.rules.map((rule) => [rule.name, rule.unit]));

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function iso(ms) {
  return new Date(ms).toISOString();
}

/** "2026-01-02 14:30 UTC" (seconds when they are not zero). */
function formatTime(ms) {
  if (ms == null) return 'open';
  const text = iso(ms).replace('T', ' ').replace(/\.\d+Z$/, '');
  return `${text.endsWith(':00') ? text.slice(0, -3) : text} UTC`;
}

function plural(count, word) {
  return `${formatCount(count)} ${word}${count === 1 ? '' : 's'}`;
}

// ---- summary -------------------------------------------------------------------------------------------------

function renderSummary() {
  const list = element('dl', 'report-summary');
  const add = (label, value, testid) => {
    const item = element('div', 'summary-item');
    const term = element('dt', null, label);
    const detail = element('dd', 'num', value);
    detail.dataset.testid = testid;
    item.append(term, detail);
    list.append(item);
  };
  const { counts, range } = data;
  add('Pipeline', data.digest, 'summary-digest');
  add('Range', `${formatTime(range.from)} – ${formatTime(range.to)}`, 'summary-range');
  add('Ticks', counts.ticks == null ? '—' : formatCount(counts.ticks), 'summary-ticks');
  add('Bars', formatCount(counts.bars), 'summary-bars');
  add('Alerts', formatCount(counts.alerts), 'summary-alerts');
  if (compared) add('Alerts before (running pipeline)', formatCount(counts.baseline), 'summary-baseline');
  add('Symbols', formatCount(counts.symbols), 'summary-symbols');
  add('Rules', formatCount(data.rules.length), 'summary-rules');
  document.getElementById('summary').append(element('h2', null, 'SUMMARY'), list);

  if (data.notes.length) {
    const notes = document.getElementById('notes');
    const items = element('ul', 'report-notes');
    for (const note of data.notes) items.append(element('li', 'report-note', note));
    notes.append(element('h2', null, 'LEFT OUT'), items);
    notes.hidden = false;
  }
}

// ---- rule timelines ------------------------------------------------------------------------------------------

function setCounts(target, counts) {
  target.dataset.alerts = counts.alerts;
  if (compared) {
    target.dataset.baseline = counts.baseline;
    target.dataset.onlyBefore = counts.only_before;
    target.dataset.onlyAfter = counts.only_after;
  }
}

function countText(counts) {
  if (!compared) return plural(counts.alerts, 'alert');
  return `${formatCount(counts.baseline)} → ${formatCount(counts.alerts)}  (only before ${formatCount(counts.only_before)}, only after ${formatCount(counts.only_after)})`;
}

function renderRules() {
  const section = document.getElementById('rules');
  section.append(element('h2', null, 'RULES'));
  if (compared) {
    const key = element('p', 'report-key muted');
    key.append(element('span', 'key-after', '▮'), ' after: the proposed pipeline   ', element('span', 'key-before', '▮'), ' before: the running pipeline');
    section.append(key);
  }
  if (data.rules.length === 0) section.append(element('p', 'muted', 'The pipeline has no rules.'));
  const timelines = [];
  for (const rule of data.rules) {
    const tone = ruleTone(rule.name, 0, rule.unit);
    const article = element('article', 'rule-timeline');
    article.dataset.testid = 'rule-timeline';
    article.dataset.rule = rule.name;
    setCounts(article, rule);

    const head = element('div', 'rule-head');
    head.append(
      element('span', `rule-badge ${tone}`, rule.name), ' ',
      element('span', 'alert-window', rule.window ?? ''), ' ',
      element('span', 'muted rule-description', rule.description ?? ''), ' ',
      element('span', 'num rule-count', countText(rule)));
    article.append(head);

    if (rule.symbols.length === 0) {
      article.append(element('p', 'muted', 'No symbols.'));
    } else {
      const rows = element('div', 'timeline-rows');
      rows.style.gridTemplateRows = `repeat(${rule.symbols.length}, ${ROW}px) ${AXIS}px`;
      const canvas = element('canvas', 'timeline');
      canvas.style.gridRow = `1 / span ${rule.symbols.length + 1}`;
      rows.append(canvas);
      rule.symbols.forEach((row, i) => {
        const label = element('span', 'timeline-symbol', row.symbol);
        label.title = row.symbol;
        label.style.gridRow = String(i + 1);
        const counts = element('span', 'timeline-counts num', countText(row));
        counts.style.gridRow = String(i + 1);
        counts.dataset.testid = 'timeline-row';
        counts.dataset.symbol = row.symbol;
        setCounts(counts, row);
        rows.append(label, counts);
      });
      article.append(rows);
      timelines.push({ canvas, rule, color: TONE_COLORS[tone] ?? TONE_COLORS.info });
    }
    section.append(article);
  }
  const draw = () => timelines.forEach(drawTimeline);
  draw();
  new ResizeObserver(draw).observe(section);
}

/** One rule's firings: time across, a row per symbol, a mark per alert (after above the row's middle, before below). */
function drawTimeline({ canvas, rule, color }) {
  const width = canvas.clientWidth;
  const height = rule.symbols.length * ROW + AXIS;
  if (width <= 0) return;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);

  const start = data.range.start;
  const end = data.range.end;
  if (start == null || end == null) return;
  const span = Math.max(end - start, 1);
  const x = (ms) => 4 + ((ms - start) / span) * (width - 8);

  context.font = '10.5px ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace';
  context.textBaseline = 'top';
  const step = STEPS.find((s) => (width / (span / s)) >= 110) ?? STEPS.at(-1);
  let free = 0; // where the next label may start without overlapping the previous one
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) {
    const px = Math.round(x(t));
    context.fillStyle = 'rgba(42, 50, 64, 0.6)';
    context.fillRect(px, 0, 1, height - AXIS);
    const text = step >= 86_400_000 ? iso(t).slice(0, 10) : iso(t).slice(5, 16).replace('T', ' ');
    const textWidth = context.measureText(text).width;
    const left = Math.min(px + 3, width - textWidth - 2);
    if (left < free) continue;
    context.fillStyle = '#7d8799';
    context.fillText(text, left, height - AXIS + 5);
    free = left + textWidth + 12;
  }

  rule.symbols.forEach((row, i) => {
    const middle = i * ROW + ROW / 2;
    context.fillStyle = i % 2 ? 'rgba(22, 27, 36, 0.0)' : 'rgba(22, 27, 36, 0.9)';
    context.fillRect(0, i * ROW, width, ROW);
    context.fillStyle = 'rgba(42, 50, 64, 0.9)';
    context.fillRect(0, Math.round(middle), width, 1);
    context.fillStyle = color;
    for (const ts of row.after) context.fillRect(Math.round(x(ts)) - 1, compared ? middle - 7 : middle - 6, 2, compared ? 7 : 12);
    if (compared) {
      context.fillStyle = BEFORE_COLOR;
      for (const ts of row.before) context.fillRect(Math.round(x(ts)) - 1, middle + 1, 2, 7);
    }
  });
}

// ---- charts --------------------------------------------------------------------------------------------------

/** The columns of a chart as the bars chart.js draws: the API's JSON shape, indicator values by name. */
function barsOf(chart) {
  const { columns, indicators } = chart;
  const names = Object.keys(indicators);
  return columns.t.map((t, i) => {
    const values = {};
    for (const name of names) values[name] = indicators[name][i];
    return {
      symbol: chart.symbol,
      window: chart.window,
      window_start: iso(t),
      open: columns.o[i],
      high: columns.h[i],
      low: columns.l[i],
      close: columns.c[i],
      volume: columns.v[i],
      vwap: columns.vwap[i],
      trades: columns.n[i],
      indicators: values,
    };
  });
}

function alertsOf(chart) {
  return chart.alerts.map((alert) => ({
    ...alert,
    symbol: chart.symbol,
    window: chart.window,
    window_start: iso(alert.window_start),
    ts: iso(alert.ts),
  }));
}

function renderCharts() {
  const section = document.getElementById('charts');
  section.append(element('h2', null, 'CHARTS'));
  if (data.charts.length === 0) section.append(element('p', 'muted', 'No bars to chart.'));
  for (const chart of data.charts) {
    const figure = element('figure', 'report-chart');
    figure.dataset.testid = 'report-chart';
    figure.dataset.symbol = chart.symbol;
    figure.dataset.window = chart.window;
    figure.dataset.alerts = chart.alerts_total;
    const caption = element('figcaption', 'chart-caption');
    const shown = chart.columns.t.length;
    const bars = shown < chart.bars_total ? `latest ${formatCount(shown)} of ${plural(chart.bars_total, 'bar')}` : plural(shown, 'bar');
    caption.append(
      element('span', 'instrument-symbol', chart.symbol), ' ',
      element('span', 'alert-window', chart.window), ' ',
      element('span', 'muted num', `${bars} · ${plural(chart.alerts_total, 'alert')}`
        + (chart.alerts_hidden ? ` (${formatCount(chart.alerts_hidden)} on bars not shown)` : '')));
    const legend = element('div', 'legend');
    const area = element('div', 'chart-area');
    const container = element('div', 'chart');
    area.append(container);
    figure.append(caption, legend, area);
    section.append(figure);
    try {
      const drawn = new BarChart(container, legend);
      drawn.setIndicators(data.pipeline.indicators.filter((indicator) => indicator.window === chart.window));
      drawn.load(chart.symbol, chart.window, barsOf(chart), chart.session);
      drawn.addAlerts(alertsOf(chart), ruleUnits);
      figure.dataset.candles = drawn.candleCount;
      figure.dataset.lines = drawn.lines.length;
      figure.dataset.markers = drawn.markers.length;
    } catch (error) {
      console.error(`chart of ${chart.symbol} ${chart.window}:`, error);
      area.append(element('div', 'chart-missing', 'This chart could not be drawn.'));
      figure.dataset.state = 'error';
    }
  }
}

renderSummary();
renderRules();
renderCharts();
document.body.dataset.state = 'ready';
