// WebSockets to /ws/runs/{id} or /ws/races/{id}: JSON messages in and out, and automatic reconnection with backoff.
// After the server restarts it restores runs, so reconnecting to the same id picks up where the run was;
// the server sends a fresh `state` message after every (re)connection, so nothing needs replaying.

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;

export class LiveSocket {
  // path: "/ws/races/<id>"; onMessage(msg) for each server message; onOpen() after each connection (send the
  // view, fps, ...); onStatus("connecting" | "open" | "reconnecting").
  constructor(path, { onMessage, onOpen = () => {}, onStatus = () => {} }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.delay = MIN_DELAY_MS;
    this.ws = null;
    this.closed = false;
    this.connect("connecting");
  }

  connect(status) {
    this.onStatus(status);
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
      setTimeout(() => !this.closed && this.connect("reconnecting"), this.delay);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    };
  }

  isOpen() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  // Returns false when the socket is down; callers tell the user instead of queueing stale controls.
  send(message) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

// The WebSocket to one run.
export class RunSocket extends LiveSocket {
  constructor(runId, handlers) {
    super(`/ws/runs/${encodeURIComponent(runId)}`, handlers);
    this.runId = runId;
  }
}
