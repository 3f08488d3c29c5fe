// The live stream (GET /api/stream): one WebSocket, reconnected with backoff (0.5 s doubling to 10 s) after any
// close, including 1013 when the server found this client too slow. The subscription is remembered and sent
// again on every connect, because the server keeps one subscription per connection.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const TRY_AGAIN_LATER = 1013;

export class Stream {
  /**
   * @param {object} handlers
   * @param {(message: object) => void} handlers.onMessage  every parsed server message
   * @param {(reconnect: boolean) => void} handlers.onOpen  after each connect; reconnect is false the first time
   * @param {(state: string, detail: object) => void} handlers.onState  'connecting' | 'open' | 'reconnecting'
   */
  constructor({ onMessage, onOpen, onState }) {
    this._onMessage = onMessage;
    this._onOpen = onOpen;
    this._onState = onState;
    this._socket = null;
    this._delay = FIRST_DELAY_MS;
    this._timer = 0;
    this._opened = false;
    this._subscription = null;
    this._url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/stream`;
  }

  start() {
    this._connect();
    // A laptop waking up or a tab coming back often finds a dead socket long before the close event arrives.
    window.addEventListener('online', () => this._reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.isOpen) this._reconnectNow();
    });
  }

  get isOpen() {
    return this._socket?.readyState === WebSocket.OPEN;
  }

  /** Chooses the chart's bars; sent now when connected, and again after every reconnect. */
  subscribe(symbol, window) {
    this._subscription = { type: 'subscribe', symbol, window };
    this._send(this._subscription);
  }

  _send(message) {
    if (this.isOpen) this._socket.send(JSON.stringify(message));
  }

  _connect() {
    clearTimeout(this._timer);
    this._timer = 0;
    this._onState(this._opened ? 'reconnecting' : 'connecting', {});
    let socket;
    try {
      socket = new WebSocket(this._url);
    } catch (error) {
      console.warn(`breadboard: cannot open ${this._url}: ${error.message}`);
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    socket.addEventListener('open', () => {
      if (socket !== this._socket) return;
      const reconnect = this._opened;
      this._opened = true;
      this._delay = FIRST_DELAY_MS;
      this._onState('open', {});
      if (this._subscription) this._send(this._subscription);
      this._onOpen(reconnect);
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this._socket || typeof event.data !== 'string') return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn('breadboard: ignoring a stream message that is not JSON');
        return;
      }
      this._onMessage(message);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this._socket) return;
      this._socket = null;
      // 1013: the server dropped us for being slow; come back at once rather than after a long backoff.
      if (event.code === TRY_AGAIN_LATER) this._delay = FIRST_DELAY_MS;
      this._scheduleReconnect();
    });
    // An 'error' is always followed by 'close', which does the reconnecting.
  }

  _scheduleReconnect() {
    const delay = this._delay;
    this._delay = Math.min(this._delay * 2, MAX_DELAY_MS);
    this._onState('reconnecting', { retryAt: Date.now() + delay });
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this._socket || !this._timer) return;
    this._delay = FIRST_DELAY_MS;
    this._connect();
  }
}
