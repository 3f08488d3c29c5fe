// Pipeline health: the object of GET /api/pipeline and of every `pipeline` stream message.

import { formatClock, formatCount, formatDuration } from './format.js';

function number(value) {
  const n = Number(value);
  return value == null || !Number.isFinite(n) ? null : n;
}

export class PipelinePanel {
  /**
   * @param {HTMLElement} panel  holds elements with data-stat="ticks" etc. and a [data-backends] list
   * @param {HTMLElement} rate  the header's ticks/s figure
   */
  constructor(panel, rate) {
    this._panel = panel;
    this._rate = rate;
    this._stats = new Map([...panel.querySelectorAll('[data-stat]')].map((e) => [e.dataset.stat, e]));
    this._backends = panel.querySelector('[data-backends]');
    this._previous = null;
  }

  update(stats) {
    if (!stats || typeof stats !== 'object') return;
    const perSecond = number(stats.ticks_per_second);
    this._rate.textContent = perSecond == null ? '—' : formatCount(perSecond);
    this._rate.closest('.rate')?.classList.toggle('stopped', stats.running === false);

    this._set('ticks_per_second', formatCount(perSecond));
    for (const key of ['ticks', 'bars', 'alerts', 'late', 'duplicates', 'rejects']) {
      const value = number(stats[key]);
      this._set(key, formatCount(value));
      // Problems that grew since the last update are highlighted until the next one.
      const grew = this._previous && value != null && value > (number(this._previous[key]) ?? value);
      this._stats.get(key)?.closest('.stat')?.classList.toggle('grew', Boolean(grew && key !== 'ticks' && key !== 'bars'));
    }
    const watermark = stats.watermark ? new Date(stats.watermark) : null;
    this._set('watermark', watermark && !Number.isNaN(watermark.getTime()) ? formatClock(watermark) : '—');
    const lag = number(stats.watermark_lag_ms);
    this._set('watermark_lag_ms', formatDuration(lag));
    this._stats.get('watermark_lag_ms')?.closest('.stat')?.classList.toggle('warn', lag != null && lag > 10_000);

    const busLag = number(stats.bus?.lag_seconds);
    const busTile = this._stats.get('bus_lag')?.closest('.stat');
    if (busTile) {
      busTile.hidden = busLag == null;
      busTile.title = stats.bus?.url ? `tick bus ${stats.bus.url}` : '';
    }
    this._set('bus_lag', busLag == null ? '—' : formatDuration(busLag * 1000));
    this._set('state', stats.running === false ? 'stopped' : 'running');
    this._stats.get('state')?.classList.toggle('down', stats.running === false);

    this._renderBackends(Array.isArray(stats.backends) ? stats.backends : []);
    this._previous = stats;
  }

  _set(key, text) {
    const element = this._stats.get(key);
    if (element && element.textContent !== text) element.textContent = text;
  }

  _renderBackends(backends) {
    const items = backends.map((backend) => {
      const up = backend.status === 'up';
      const item = document.createElement('li');
      item.className = 'backend';
      item.dataset.status = up ? 'up' : 'down';
      item.dataset.backend = backend.name;
      item.title = [backend.url, backend.detail].filter(Boolean).join(' — ');
      const dot = document.createElement('span');
      dot.className = 'dot';
      const name = document.createElement('span');
      name.className = 'backend-name';
      name.textContent = backend.name;
      const url = document.createElement('span');
      url.className = 'backend-url';
      url.textContent = backend.url ?? '';
      const status = document.createElement('span');
      status.className = 'backend-status';
      status.textContent = up ? 'up' : (backend.status ?? 'down');
      item.append(dot, name, url, status);
      return item;
    });
    this._backends.replaceChildren(...items);
  }
}
