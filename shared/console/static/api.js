// The console calls the same admin API as the curl walk-through. The session cookie goes with every call
// (same origin); the session's CSRF token goes in X-CSRF-Token on every change.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function useCsrfToken(token) {
  csrfToken = token;
}

export async function call(method, path, { body, ifMatch } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  if (ifMatch) headers["if-match"] = ifMatch;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "networkError", "The connector did not answer; check your connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, error.code || "httpError", error.message || `HTTP ${response.status}`);
  }
  return { status: response.status, data, etag: response.headers.get("etag") };
}

export function tenantPath(tenantId, rest = "") {
  return `/api/tenants/${encodeURIComponent(tenantId)}${rest}`;
}

let contractPromise = null;

/** The API's own OpenAPI document: the console offers what this deployment's API accepts. */
export function contract() {
  if (!contractPromise) {
    contractPromise = call("GET", "/api/openapi.json").then(
      (reply) => reply.data || {},
      () => ({}),
    );
  }
  return contractPromise;
}

export function inputFields(document, schema) {
  const found = document.components && document.components.schemas && document.components.schemas[schema];
  return new Set(found && found.properties ? Object.keys(found.properties) : []);
}

export function hasPath(document, path) {
  return Boolean(document.paths && document.paths[path]);
}
