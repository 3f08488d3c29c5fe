// Number and time formatting shared by every panel. Everything the API sends is UTC, and the dashboard shows
// UTC too, so the chart's axis, the alert times and the watermark all read the same clock.

const MINUS = '\u2212';
const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const priceFormats = new Map();

function priceFormat(decimals) {
  let format = priceFormats.get(decimals);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    priceFormats.set(decimals, format);
  }
  return format;
}

/** Decimals that keep about five significant digits for small prices and cents for large ones. */
export function priceDecimals(price) {
  const magnitude = Math.abs(price);
  if (!Number.isFinite(magnitude) || magnitude >= 1) return 2;
  if (magnitude >= 0.01) return 4;
  return 6;
}

export function formatPrice(price) {
  if (price == null || !Number.isFinite(price)) return '—';
  return priceFormat(priceDecimals(price)).format(price).replace('-', MINUS);
}

/** Signed percentage with a typographic minus, e.g. "+1.25 %" or "−6.20 %". */
export function formatPercent(value) {
  if (value == null || !Number.isFinite(value)) return '—';
  const sign = value > 0 ? '+' : value < 0 ? MINUS : '';
  return `${sign}${Math.abs(value).toFixed(2)} %`;
}

export function formatCount(value) {
  if (value == null || !Number.isFinite(value)) return '—';
  return counts.format(value);
}

/** Volumes: compact above ten thousand (12.4K, 3.1M), a few decimals below, since crypto trades fractions. */
export function formatVolume(value) {
  if (value == null || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
  if (magnitude >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (magnitude >= 1e4) return `${(value / 1e3).toFixed(1)}K`;
  if (magnitude >= 100) return value.toFixed(0);
  return String(Number(value.toFixed(magnitude >= 1 ? 2 : 4)));
}

/** Milliseconds as "850 ms", "4.2 s", "3 m 05 s" or "2 h 10 m". */
export function formatDuration(ms) {
  if (ms == null || !Number.isFinite(ms)) return '—';
  const magnitude = Math.abs(ms);
  const sign = ms < 0 ? MINUS : '';
  if (magnitude < 1000) return `${sign}${Math.round(magnitude)} ms`;
  if (magnitude < 60_000) return `${sign}${(magnitude / 1000).toFixed(1)} s`;
  const seconds = Math.floor(magnitude / 1000);
  if (seconds < 3600) return `${sign}${Math.floor(seconds / 60)} m ${String(seconds % 60).padStart(2, '0')} s`;
  return `${sign}${Math.floor(seconds / 3600)} h ${String(Math.floor(seconds / 60) % 60).padStart(2, '0')} m`;
}

function pad(value, width = 2) {
  return String(value).padStart(width, '0');
}

/** "14:30:05" in UTC. */
export function formatClock(date) {
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

/** "14:30:05", or "Jan 02 14:30:05" when the time is not today (UTC). */
export function formatTimestamp(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const today = new Date();
  const sameDay = date.getUTCFullYear() === today.getUTCFullYear()
    && date.getUTCMonth() === today.getUTCMonth()
    && date.getUTCDate() === today.getUTCDate();
  if (sameDay) return formatClock(date);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${month} ${pad(date.getUTCDate())} ${formatClock(date)}`;
}

/**
 * The unit of a rule's values, as the hello message gives it per rule: "percent", "factor" (a multiple, e.g. of a
 * mean volume) or, for an expression rule, the unit of its first comparison ("price", "index" for an RSI,
 * "sigma" for a z-score, "volume", "count", "number"). Guessed from the name without a hello.
 */
export function ruleUnit(rule, ruleUnits) {
  const unit = ruleUnits?.get(rule);
  if (unit) return unit;
  return /volume|surge/i.test(rule) ? 'factor' : 'percent';
}

/** A number in a unit of the hello message: "−6.20 %", "7.3×", "101.25", "74.2", "3.10σ"; "undefined" for null. */
export function formatInUnit(value, unit) {
  if (value === null) return 'undefined';
  const number = Number(value);
  if (value === undefined || !Number.isFinite(number)) return '—';
  switch (unit) {
    case 'factor': return `${number.toFixed(1)}\u00d7`;
    case 'percent': return formatPercent(number);
    case 'price': return formatPrice(number);
    case 'index': return number.toFixed(1);
    case 'sigma': return `${number.toFixed(2).replace('-', MINUS)}\u03c3`;
    case 'volume': return formatVolume(number);
    case 'count': return formatCount(number);
    default: return String(Number(number.toPrecision(6))).replace('-', MINUS);
  }
}

/** An alert's value in its rule's unit: "−6.20 %" for price rules, "7.3×" for volume surges; "undefined" when the rule's operand was. */
export function formatAlertValue(alert, ruleUnits) {
  return formatInUnit(alert.value, ruleUnit(alert.rule, ruleUnits));
}
