// WebSockets to /ws/runs/{id} or /ws/races/{id}: JSON messages in and out, and automatic reconnection with backoff.
// After the server restarts it restores runs, so reconnecting to the same id picks up where the run was;
// the server sends a fresh `state` message after every (re)connection, so nothing needs replaying.
// Every connection first presents this browser's token ({"type": "auth"}, before view or fps): a socket
// is a watcher until the server's ack gives it a role, and only then is its status "open". An `auth`
// refused for an unknown token gets a new identity and tries again (core/identity.js).
import { ensureToken, renewToken } from "./identity.js";

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;

export class LiveSocket {
  // path: "/ws/races/<id>"; onMessage(msg) for each server message (the auth ack too: `role`); onOpen()
  // after each connection (send the view, fps, ...); onStatus("connecting" | "open" | "reconnecting").
  constructor(path, { onMessage, onOpen = () => {}, onStatus = () => {} }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.delay = MIN_DELAY_MS;
    this.ws = null;
    this.role = null;
    this.closed = false;
    this.connect("connecting");
  }

  connect(status) {
    this.onStatus(status);
    ensureToken().then(
      (token) => this.open(token),
      () => this.retry(),
    );
  }

  open(token) {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    this.role = null;
    const auth = () => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: "auth", token }));
    ws.onopen = () => {
      this.delay = MIN_DELAY_MS;
      auth();
      this.onOpen();
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const message = JSON.parse(event.data);
      if (message.type === "ack" && message.of === "auth") {
        this.role = message.role;
        this.onMessage(message);
        this.onStatus("open");
        return;
      }
      if (message.type === "error" && message.field === "token" && this.role === null) {
        renewToken(token).then((fresh) => {
          token = fresh;
          auth();
        }, () => ws.close());
        return;
      }
      this.onMessage(message);
    };
    ws.onclose = () => {
      if (!this.closed && ws === this.ws) this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    this.onStatus("reconnecting");
    setTimeout(() => !this.closed && this.connect("reconnecting"), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
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
