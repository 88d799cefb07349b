// Who this browser is to the server: an identity's bearer token, kept in localStorage (never in a URL) and
// shared by every page and tab of this origin, and the id of the last run this browser owned (so opening
// the dashboard again reopens it instead of making a new one). "Forget me" wipes both, for shared lab
// machines; "I have a key" (panels/key.js) replaces both with another browser's identity. The token travels
// only as `Authorization: Bearer` (core/api.js) and as the first WebSocket message (core/socket.js), and is
// shown only in the "Use on another computer" dialog: never in a URL.

const TOKEN_KEY = "backproplab.token";
const LAST_RUN_KEY = "backproplab.last-run";

// localStorage can throw (storage disabled, a sandboxed page): the page then works for this visit only.
const memory = new Map();
function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}
function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    if (value === null) memory.delete(key);
    else memory.set(key, value);
  }
}

export const storedToken = () => read(TOKEN_KEY);

export function saveToken(token) {
  if (typeof token === "string" && token) write(TOKEN_KEY, token);
}

// Drops the token only if it is still the one that failed (another tab may have replaced it meanwhile).
function dropToken(token) {
  if (read(TOKEN_KEY) === token) write(TOKEN_KEY, null);
}

// One new identity at a time, whichever page, request or socket asks first: POST /api/identities (without
// an Authorization header, so a stale token cannot make it fail). Where the browser offers Web Locks (a
// secure context: https or localhost), tabs of this origin wait for each other, so two tabs opened at
// once do not mint two identities.
let minting = null;
async function mint() {
  const response = await fetch("/api/identities", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  if (!response.ok) throw new Error(`POST /api/identities: ${response.status}`);
  const { token } = await response.json();
  saveToken(token);
  return token;
}

export function ensureToken() {
  const token = storedToken();
  if (token) return Promise.resolve(token);
  if (!minting) {
    const once = () => storedToken() || mint();
    const locked = navigator.locks ? navigator.locks.request("backproplab.identity", once) : once();
    minting = locked.finally(() => (minting = null));
  }
  return minting;
}

// A token the server no longer knows (401, or an `auth` error): forget it and get a fresh identity.
export async function renewToken(failed) {
  dropToken(failed);
  return ensureToken();
}

export const lastRunId = () => read(LAST_RUN_KEY);
export const rememberRun = (id) => write(LAST_RUN_KEY, id);
export function forgetRun(id) {
  if (read(LAST_RUN_KEY) === id) write(LAST_RUN_KEY, null);
}

// This browser becomes another person: the identity of `token` ("I have a key", a token the server has
// just confirmed), or nobody yet (null: "Forget me on this computer", so the next visitor of this browser
// starts as a new person). The last run was the previous identity's, so it goes too. The runs stay on the
// server, with the token they belong to.
export function switchIdentity(token) {
  write(TOKEN_KEY, token);
  write(LAST_RUN_KEY, null);
}

export const forgetMe = () => switchIdentity(null);
