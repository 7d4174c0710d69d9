// The gateway's API as the page uses it: the session cookie authenticates
// (same origin), and every POST carries the session's CSRF token.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function answer(resp) {
  const type = resp.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await resp.json() : null;
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

// The signed-in usager (GET /v1/me), or null when there is no session.
export async function loadMe() {
  const resp = await fetch("/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (resp.status === 401 || resp.status === 404) return null;
  const me = await answer(resp);
  csrfToken = me.csrf_token;
  return me;
}

export function csrf() {
  return csrfToken;
}

export async function get(path) {
  return answer(await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } }));
}

export async function post(path, body, idempotencyKey) {
  const headers = { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  return answer(await fetch(path, { method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body) }));
}
