// A WebSocket to /ws/runs/{id} or /ws/races/{id}: JSON messages in and out, reconnecting with backoff.
// The server sends a fresh `state` after every (re)connection, so nothing needs replaying.
const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;

export class LiveSocket {
  // path: "/ws/races/<id>"; onMessage(msg); onOpen() after each connection (send the view, fps, ...).
  constructor(path, { onMessage, onOpen = () => {}, onStatus = () => {} }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onStatus = onStatus;
    this.delay = MIN_DELAY_MS;
    this.closed = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = MIN_DELAY_MS;
      this.onStatus("open");
      this.onOpen();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this.onMessage(JSON.parse(event.data));
    };
    ws.onclose = () => {
      if (this.closed || ws !== this.ws) return;
      this.onStatus("reconnecting");
      setTimeout(() => !this.closed && this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    };
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
