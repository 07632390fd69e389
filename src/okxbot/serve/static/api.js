// The API client: same-origin fetches with the session cookie, the CSRF token on every change,
// and the live stream (Server-Sent Events).

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export const session = { csrf: null, scopes: [], controlUntil: 0, supervisor: "" };

export async function api(path, { method = "GET", body = undefined } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    if (session.csrf) init.headers["X-CSRF-Token"] = session.csrf;
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!response.ok) {
    const detail = data && data.detail ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : response.statusText;
    throw new ApiError(response.status, detail);
  }
  return data;
}

export async function loadSession() {
  const s = await api("/api/session");
  session.csrf = s.csrf;
  session.scopes = s.scopes;
  session.controlUntil = s.control_until_ms || 0;
  session.supervisor = s.supervisor;
  return s;
}

export function canControl() {
  return session.controlUntil > Date.now();
}

// ---- live stream ---------------------------------------------------------------------------------
export class Live {
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.source = null;
  }

  start() {
    this.stop();
    const source = (this.source = new EventSource("/api/stream"));
    const kinds = ["hello", "order", "fill", "bot", "status", "halted", "foreign_order", "rate_limited", "crash", "posture", "panic"];
    for (const kind of kinds) {
      source.addEventListener(kind, (e) => {
        let data = null;
        try { data = JSON.parse(e.data); } catch { return; }
        this.onEvent(kind, data);
      });
    }
    source.onopen = () => this.onState("live");
    source.onerror = () => this.onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
  }
}
