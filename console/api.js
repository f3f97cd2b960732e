// The REST API client: the admin token from sessionStorage as a Bearer
// token, errors as the API words them, network failures told apart.
const KEY = "syncbridge.admin_token";
export const CHANNELS = "/rest/v1/service/integration_points";

export const getToken = () => sessionStorage.getItem(KEY) || "";
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const clearToken = () => {
  sessionStorage.removeItem(KEY);
  info = null;
};

/** An answer of the API that is not a success. */
export class ApiError extends Error {
  constructor(status, body) {
    const message =
      (body && (body.error_message || body.description)) || `HTTP ${status} with no error message`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The gateway could not be reached at all. */
export class NetworkError extends Error {}

/**
 * Calls the API. `path` is absolute ("/rest/…") or relative to the channel
 * collection ("{id}/requests"). Answers the parsed JSON (null for 204).
 */
export async function api(method, path, { body, query, headers = {}, auth = true, signingIn = false } = {}) {
  let url = path.startsWith("/") ? path : `${CHANNELS}${path ? `/${path}` : ""}`;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v != null && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const h = { ...headers };
  if (auth) h.authorization = `Bearer ${getToken()}`;
  if (body !== undefined) h["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    throw new NetworkError(`Could not reach the gateway (${e.message}). Check that it is running.`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === "object" ? data : { error_message: data });
    if (res.status === 401 && auth && !signingIn) window.dispatchEvent(new CustomEvent("sb:unauthorized", { detail: err }));
    throw err;
  }
  return data;
}

/** Every channel (up to the API's page cap of 1000), optionally filtered and searched. */
export function listChannels(filter, search) {
  return api("GET", "", {
    query: { limit: 1000, filter: filter ? JSON.stringify(filter) : undefined, search: search || undefined },
  });
}

let info = null;
/**
 * The gateway's information (GET /rest/v1/service/info: the origin its URLs
 * are formed from, the Sync API's logins, its settings), asked once per
 * sign-in; null when it cannot be had.
 */
export function serviceInfo() {
  if (!info) info = api("GET", "/rest/v1/service/info").catch(() => ((info = null), null));
  return info;
}
