// Wires the panels to the REST API and the live stream (docs/API.md).
//
// Selecting a (symbol, window) subscribes first and loads the history second, holding the stream's bars for that
// pair until the history is on the chart: a window that closes between the two requests is then never lost.
// Every (re)connect reloads the REST state, because messages sent while disconnected are gone.
//
// The hello message says what the pipeline has: windows, rules (for the rules panel) and indicators. The chart
// draws the indicators of the shown window; their values come with the bars (history and closed bars alike),
// computed by the server with the engine's code, so the page never computes an indicator itself.
//
// A backtest (the rules panel's form) answers the alerts a proposed rule would have fired: those of the chart's
// symbol and the rule's window are drawn as markers of their own until cleared, also after the chart reloads.

import { fetchAlerts, fetchBars, fetchPipeline, fetchSymbols } from './api.js';
import { AlertFeed } from './alerts.js';
import { BacktestForm } from './backtest.js';
import { BarChart } from './chart.js';
import { formatClock, formatPercent, formatPrice } from './format.js';
import { PipelinePanel } from './pipeline.js';
import { RulesPanel } from './rules.js';
import { Stream } from './stream.js';
import { SymbolList } from './symbols.js';

const HISTORY_LIMIT = 500;
const ALERT_LIMIT = 100;
const MARKER_LIMIT = 1000;
const DEFAULT_WINDOW = '1m';
const MAX_BUFFERED_BARS = 5000;

const $ = (selector) => document.querySelector(selector);

const state = {
  symbol: null,
  window: DEFAULT_WINDOW,
  windows: [], // names from the hello message
  windowTypes: new Map(), // name → type, when the hello message gives objects
  indicators: [], // the hello message's indicators: { name, type, window, values, unit, pane }
  loadToken: 0,
  loading: false,
  buffered: [],
  connection: { state: 'connecting', retryAt: 0 },
  backtest: null, // the last backtest's answer with its symbol and window, until cleared
};

/** Stands in for the chart when the charting library did not load, so the rest of the page still works. */
const noChart = {
  candleCount: 0, lines: [], markers: [], backtestMarkers: [], load() {}, clear() {}, apply() {}, setIndicators() {}, addAlerts() {}, addAlert() {}, setBacktest() {},
};

let chart = noChart;
let symbols;
let alerts;
let rules;
let backtest;
let pipeline;
let stream;

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get('symbol')) state.symbol = params.get('symbol');
  if (params.get('window')) state.window = params.get('window');
}

function writeHash() {
  const params = new URLSearchParams({ symbol: state.symbol ?? '', window: state.window });
  history.replaceState(null, '', `#${params}`);
}

function isSessionWindow(name) {
  const type = state.windowTypes.get(name);
  return type ? type === 'session' : /session/i.test(name);
}

// ---- chart selection ----------------------------------------------------------------------------------------

function selectSymbol(symbol) {
  if (!symbol || symbol === state.symbol) return;
  state.symbol = symbol;
  symbols.select(symbol);
  onSelectionChanged();
}

function selectWindow(name) {
  if (!name || name === state.window) return;
  state.window = name;
  renderWindowButtons();
  onSelectionChanged();
}

function onSelectionChanged() {
  writeHash();
  renderInstrument();
  chart.clear();
  chart.setIndicators(indicatorsOf(state.window));
  loadChart(true);
}

function indicatorsOf(windowName) {
  return state.indicators.filter((indicator) => indicator.window === windowName);
}

async function loadChart(subscribe) {
  const { symbol, window: windowName } = state;
  if (!symbol) return;
  const token = ++state.loadToken;
  state.loading = true;
  state.buffered = [];
  setChartState(chart.candleCount > 0 ? 'ready' : 'loading'); // a reload keeps showing what it has
  if (subscribe) stream.subscribe(symbol, windowName);
  const bars = await fetchBars(symbol, windowName, HISTORY_LIMIT);
  if (token !== state.loadToken) return; // a newer selection or reload took over
  // A failed reload keeps the candles on screen; only a first load with nothing to show starts empty.
  if (Array.isArray(bars) || chart.candleCount === 0) {
    chart.load(symbol, windowName, Array.isArray(bars) ? bars : [], isSessionWindow(windowName));
  }
  chart.setBacktest(backtestAlerts());
  for (const { bar, final } of state.buffered) chart.apply(bar, final);
  state.buffered = [];
  state.loading = false;
  setChartState(chart.candleCount > 0 ? 'ready' : 'empty');
  loadMarkers(token, symbol, windowName, Array.isArray(bars) ? bars[0]?.window_start : null);
}

/** The stored alerts of the chart's symbol and window since its first candle, as markers on their candles. */
async function loadMarkers(token, symbol, windowName, since) {
  const list = await fetchAlerts({ symbol, since: since ?? undefined, limit: MARKER_LIMIT });
  if (token !== state.loadToken || !Array.isArray(list)) return;
  chart.addAlerts(list.filter((alert) => alert?.window === windowName && alert.symbol === symbol), alerts.ruleUnits);
}

// ---- backtest -----------------------------------------------------------------------------------------------

/** The last backtest's alerts of the chart's symbol and window. */
function backtestAlerts() {
  const result = state.backtest;
  if (!result || result.symbol !== state.symbol) return [];
  return result.alerts.filter((alert) => alert?.symbol === state.symbol && alert.window === state.window);
}

/** A finished backtest (or null, cleared): its markers on the chart, shown on the rule's window. */
function onBacktest(result) {
  state.backtest = result && Array.isArray(result.alerts) ? result : null;
  const legend = $('#backtest-legend');
  legend.hidden = !state.backtest;
  if (state.backtest) {
    legend.querySelector('[data-field="label"]').textContent = `would have fired: ${result.rule} on ${result.symbol} (${result.alert_count} over ${result.hours} h)`;
    if (result.window !== state.window && state.windows.includes(result.window)) {
      selectWindow(result.window); // loading the window draws the markers
      return;
    }
  }
  chart.setBacktest(backtestAlerts());
}

function setChartState(value) {
  const panel = $('.chart-panel');
  panel.dataset.state = value;
  const messages = {
    loading: 'Loading bars…',
    empty: `No ${state.window} bars for ${state.symbol} yet: the first candle appears when its window has trades.`,
    'no-symbols': 'No symbols yet: the chart starts with the first trade.',
  };
  $('#chart-message').textContent = messages[value] ?? '';
}

function onBar(message) {
  const { bar } = message;
  if (!bar || bar.symbol !== state.symbol || bar.window !== state.window) return; // an old subscription's tail
  const final = message.final === true;
  if (state.loading) {
    if (state.buffered.length < MAX_BUFFERED_BARS) state.buffered.push({ bar, final });
    return;
  }
  chart.apply(bar, final);
  if ($('.chart-panel').dataset.state === 'empty' && chart.candleCount > 0) setChartState('ready');
}

// ---- rendering ----------------------------------------------------------------------------------------------

function renderWindowButtons() {
  const group = $('#windows');
  const buttons = state.windows.map((name) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'window-button';
    button.dataset.testid = 'window-button';
    button.dataset.window = name;
    button.textContent = name;
    button.setAttribute('aria-pressed', String(name === state.window));
    return button;
  });
  group.replaceChildren(...buttons);
}

function renderInstrument() {
  $('#instrument-symbol').textContent = state.symbol ?? '—';
  const last = state.symbol ? symbols.lastPrice(state.symbol) : null;
  const change = state.symbol ? symbols.changePercent(state.symbol) : null;
  $('#instrument-price').textContent = state.symbol ? formatPrice(last) : '';
  const changeElement = $('#instrument-change');
  changeElement.textContent = state.symbol ? formatPercent(change) : '';
  changeElement.className = `num instrument-change ${change > 0 ? 'up' : change < 0 ? 'down' : 'flat'}`;
  document.title = state.symbol && last != null ? `${state.symbol} ${formatPrice(last)} · Breadboard` : 'Breadboard';
}

function renderConnection() {
  const element = $('[data-testid="connection-status"]');
  const { state: value, retryAt } = state.connection;
  element.dataset.state = value;
  let label = 'live';
  if (value === 'connecting') label = 'connecting…';
  if (value === 'reconnecting') {
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    label = retryAt && seconds > 0 ? `reconnecting in ${seconds} s` : 'reconnecting…';
  }
  const text = element.querySelector('.label');
  if (text.textContent !== label) text.textContent = label;
  element.title = value === 'open' ? 'Live stream connected' : 'Live stream disconnected; data shown may be stale';
}

// ---- REST state and stream ----------------------------------------------------------------------------------

async function loadRestState() {
  const [symbolList, alertList, stats] = await Promise.all([fetchSymbols(), fetchAlerts({ limit: ALERT_LIMIT }), fetchPipeline()]);
  if (Array.isArray(symbolList)) symbols.load(symbolList);
  if (Array.isArray(alertList)) {
    alerts.load(alertList);
    for (const alert of alertList) rules.offer(alert);
  }
  if (stats) pipeline.update(stats);
  selectFirstSymbolIfNone();
  renderInstrument();
}

/** The first symbol (alphabetically) when none is chosen yet: on load, or when a fresh store sees its first trade. */
function selectFirstSymbolIfNone() {
  if (state.symbol) return;
  const first = symbols.symbols().sort()[0];
  if (first) selectSymbol(first);
  else setChartState('no-symbols');
}

function onHello(message) {
  const windows = Array.isArray(message.windows) ? message.windows : [];
  state.windows = [];
  state.windowTypes.clear();
  for (const item of windows) {
    const name = typeof item === 'string' ? item : item?.name;
    if (!name) continue;
    state.windows.push(name);
    if (typeof item === 'object' && item.type) state.windowTypes.set(name, item.type);
  }
  alerts.ruleUnits.clear();
  const ruleList = (Array.isArray(message.rules) ? message.rules : []).filter((rule) => rule && typeof rule === 'object' && rule.name);
  for (const rule of ruleList) {
    if (rule.unit) alerts.ruleUnits.set(rule.name, rule.unit);
  }
  rules.setRules(ruleList);
  backtest.setWindows(state.windows);
  seedRules(ruleList);
  state.indicators = (Array.isArray(message.indicators) ? message.indicators : [])
    .filter((indicator) => indicator && typeof indicator.name === 'string' && Array.isArray(indicator.values));
  if (state.windows.length && !state.windows.includes(state.window)) {
    state.window = state.windows.includes(DEFAULT_WINDOW) ? DEFAULT_WINDOW : state.windows[0];
    renderWindowButtons();
    onSelectionChanged();
    return;
  }
  renderWindowButtons();
  chart.setIndicators(indicatorsOf(state.window)); // the same ones again (a reconnect) change nothing
}

/** Each rule's latest stored alert, so the rules panel shows its last firing before the next one comes live. */
async function seedRules(ruleList) {
  const latest = await Promise.all(ruleList.map((rule) => fetchAlerts({ rule: rule.name, limit: 1 })));
  for (const list of latest) {
    if (Array.isArray(list)) for (const alert of list) rules.offer(alert);
  }
}

function onMessage(message) {
  switch (message.type) {
    case 'hello':
      onHello(message);
      break;
    case 'ticks':
      if (Array.isArray(message.items)) {
        symbols.applyTicks(message.items);
        if (!state.symbol) selectFirstSymbolIfNone();
        else if (message.items.some((t) => t?.symbol === state.symbol)) renderInstrument();
      }
      break;
    case 'bar':
      onBar(message);
      break;
    case 'alert':
      alerts.push(message.alert);
      rules.offer(message.alert);
      if (message.alert?.symbol === state.symbol && message.alert?.window === state.window) chart.addAlert(message.alert);
      break;
    case 'pipeline':
      pipeline.update(message.stats);
      break;
    default:
      break; // newer servers may send more; ignoring them keeps old dashboards working
  }
}

function onOpen(reconnect) {
  // The stream has just (re)sent the subscription; history is reloaded so nothing closed while away is missing.
  if (reconnect) loadRestState();
  if (state.symbol) loadChart(false);
}

function onState(value, detail) {
  state.connection = { state: value, retryAt: detail.retryAt ?? 0 };
  renderConnection();
}

// ---- start --------------------------------------------------------------------------------------------------

function createChart() {
  const container = $('#chart');
  if (!window.LightweightCharts) {
    console.error('breadboard: /vendor/lightweight-charts.standalone.production.js did not load; build the project to fetch it');
    $('.chart-panel').classList.add('no-chart');
    return noChart;
  }
  return new BarChart(container, $('#legend'));
}

function start() {
  readHash();
  chart = createChart();
  symbols = new SymbolList($('#symbol-list'), $('#symbol-count'), selectSymbol);
  alerts = new AlertFeed($('#alert-list'), $('#alert-count'), $('#toasts'), (alert) => {
    selectSymbol(alert.symbol);
    if (state.windows.includes(alert.window)) selectWindow(alert.window);
  });
  backtest = new BacktestForm($('#backtest-form'), $('#backtest-toggle'), () => state.symbol, onBacktest);
  rules = new RulesPanel($('#rule-list'), $('#rule-count'), (alert) => {
    selectSymbol(alert.symbol);
    if (state.windows.includes(alert.window)) selectWindow(alert.window);
  }, (rule) => backtest.prefill(rule));
  $('#backtest-legend [data-action="clear"]').addEventListener('click', () => backtest.clear());
  pipeline = new PipelinePanel($('#pipeline'), $('[data-testid="pipeline-rate"]'));
  stream = new Stream({ onMessage, onOpen, onState });

  $('#windows').addEventListener('click', (event) => {
    const button = event.target.closest('[data-window]');
    if (button) selectWindow(button.dataset.window);
  });
  window.addEventListener('hashchange', () => {
    const before = `${state.symbol}|${state.window}`;
    readHash();
    if (`${state.symbol}|${state.window}` === before) return;
    symbols.select(state.symbol);
    renderWindowButtons();
    onSelectionChanged();
  });

  window.breadboard = {
    candleCount: () => chart.candleCount,
    indicatorLines: () => chart.lines,
    markers: () => chart.markers,
    backtestMarkers: () => chart.backtestMarkers,
    selectedSymbol: () => state.symbol,
    selectedWindow: () => state.window,
  };

  if (state.symbol) {
    symbols.select(state.symbol);
    onSelectionChanged();
  }
  loadRestState();
  stream.start();
  renderConnection();

  const clock = $('#clock');
  const tick = () => {
    clock.textContent = `${formatClock(new Date())} UTC`;
    if (state.connection.state === 'reconnecting') renderConnection();
  };
  tick();
  setInterval(tick, 1000);
}

start();
