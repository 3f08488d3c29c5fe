// REST calls of docs/API.md. Each returns parsed JSON, or the given fallback when the server answers with an
// error or cannot be reached: the stream's reconnect reloads everything, so a failed load is retried anyway.

async function getJson(path, fallback, signal) {
  try {
    const response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
    if (!response.ok) {
      console.warn(`breadboard: GET ${path} answered ${response.status}`);
      return fallback;
    }
    return await response.json();
  } catch (error) {
    if (error.name !== 'AbortError') console.warn(`breadboard: GET ${path} failed: ${error.message}`);
    return fallback;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value != null) search.set(key, String(value));
  }
  return search.toString();
}

export function fetchSymbols(signal) {
  return getJson('/api/symbols', [], signal);
}

/**
 * Bars ascending by window_start, each with its window's indicator values (`indicators`, by name, when the window
 * has any), or null when they could not be loaded (so a reload can keep what it has).
 */
export function fetchBars(symbol, window, limit, signal) {
  return getJson(`/api/bars?${query({ symbol, window, limit, indicators: true })}`, null, signal);
}

/** The latest alerts ascending by ts; `symbol`, `rule` and `since` narrow them. */
export function fetchAlerts({ limit, symbol, rule, since } = {}, signal) {
  return getJson(`/api/alerts?${query({ symbol, rule, since, limit })}`, [], signal);
}

export function fetchPipeline(signal) {
  return getJson('/api/pipeline', null, signal);
}

/**
 * POST /api/backtest: `{ ok: true, result }`, or `{ ok: false, error }` with the server's problem in one line (each
 * field at fault named); an abort is thrown, as fetch throws it.
 */
export async function postBacktest(body, signal) {
  let response;
  try {
    response = await fetch('/api/backtest', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { ok: false, error: `the server could not be reached: ${error.message}` };
  }
  const answer = await response.json().catch(() => null);
  if (response.ok && answer) return { ok: true, result: answer };
  return { ok: false, error: problemLine(answer, response.status) };
}

/** A problem answer (RFC 9457, with `errors` by field for a 400) as one line. */
function problemLine(problem, status) {
  const errors = problem?.errors && typeof problem.errors === 'object'
    ? Object.entries(problem.errors).map(([field, messages]) => `${field}: ${[].concat(messages).join('; ')}`)
    : [];
  const text = errors.length ? errors.join('; ') : (problem?.detail ?? problem?.title ?? `the server answered ${status}`);
  return String(text).replace(/\s+/g, ' ').trim();
}
