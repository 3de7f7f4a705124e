// The REST API client: the bearer token comes from the URL fragment (#token=...), which browsers never
// send to the server, and is kept in sessionStorage for this tab only. Case routes also need a case user:
// a user token from the fragment (#token=...&user=...), else the bearer token, which a server on a
// single-user case database accepts for its local operator.

import { lang, t } from "./i18n.js";

const KEY = "chaintrail.token";
const USER_KEY = "chaintrail.userToken";
let token = null;
let userToken = null;

export function initToken() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  const u = location.hash.match(/(?:^#|&)user=([^&]+)/);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem(KEY, token);
    userToken = u ? decodeURIComponent(u[1]) : null;
    if (userToken) sessionStorage.setItem(USER_KEY, userToken); else sessionStorage.removeItem(USER_KEY);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = sessionStorage.getItem(KEY);
    userToken = sessionStorage.getItem(USER_KEY);
  }
  return token;
}

export function setToken(t) {
  token = t;
  sessionStorage.setItem(KEY, t);
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function url(path, params) {
  const u = new URL("/api/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u;
}

function needsUser(path) {
  return path.startsWith("/cases") || path.startsWith("/watches") || path.startsWith("/alerts");
}

// A server-sent event stream read through fetch (EventSource cannot send the tokens): calls onEvent(name, data).
export async function stream(path, params, onEvent, signal) {
  const headers = { Authorization: `Bearer ${token}`, Accept: "text/event-stream", "Accept-Language": lang() };
  if (needsUser(path)) headers["X-Chaintrail-User-Token"] = userToken || token;
  const r = await fetch(url(path, params), { headers, signal });
  if (!r.ok) throw new ApiError(r.status, statusText(r));
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// A failed answer without the server's own message: its status in the reader's language.
function statusText(r) {
  const known = { 400: "api.400", 401: "api.401", 403: "api.403", 404: "api.404", 409: "api.409", 413: "api.413",
                  422: "api.422", 429: "api.429", 503: "api.503" };
  return t(known[r.status] || (r.status >= 500 ? "api.5xx" : "api.other"), { status: String(r.status), text: r.statusText });
}

async function request(method, path, params, body, accept = "application/json") {
  const headers = { Authorization: `Bearer ${token}`, Accept: accept, "Accept-Language": lang() };
  if (needsUser(path)) headers["X-Chaintrail-User-Token"] = userToken || token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(url(path, params), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let msg = statusText(r);
    try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, msg);
  }
  return r;
}

export async function get(path, params) {
  return (await request("GET", path, params)).json();
}

export async function getBlob(path, params, accept) {
  return (await request("GET", path, params, undefined, accept)).blob();
}

export async function post(path, body, params) {
  return (await request("POST", path, params, body)).json();
}

export async function put(path, body, params) {
  return (await request("PUT", path, params, body)).json();
}
