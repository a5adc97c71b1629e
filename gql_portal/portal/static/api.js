// The API client. Every document lives in queries/<name>.graphql (validated against
// schema.graphql by tests/portal/test_documents.py); the session is the HttpOnly cookie,
// so no script ever holds a token.

import { ApiError } from "./errors.js";

const documents = new Map();
const listeners = new Set();

export function loadDocument(name) {
  if (!documents.has(name)) {
    const loaded = fetch(`/portal/queries/${name}.graphql`, { credentials: "same-origin" }).then(
      (response) => {
        if (!response.ok) throw new Error(`Missing document ${name}`);
        return response.text();
      },
    );
    loaded.catch(() => documents.delete(name));
    documents.set(name, loaded);
  }
  return documents.get(name);
}

// Called with every ApiError before it is thrown (the app sends an expired session to Sign in).
export function onApiError(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Every failure, over HTTP or the socket, passes here before the screen shows it.
export function reportError(error) {
  for (const listener of listeners) listener(error);
  return error;
}

function fail(error) {
  throw reportError(error);
}

// `path`: POST /graphql/import takes the large bodies of importUsers (a 100,000-line CSV is
// about 10 MB, above the body limit of /graphql); it answers exactly like /graphql.
export async function run(name, variables = {}, { path = "/graphql" } = {}) {
  const query = await loadDocument(name);
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-Session-Transport": "cookie",
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new TypeError("network");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    fail(new ApiError({ code: response.status === 503 ? "SERVICE_UNAVAILABLE" : "INTERNAL_SERVER_ERROR" }));
  }
  const first = body.errors && body.errors[0];
  if (first) {
    const extensions = first.extensions || {};
    fail(new ApiError({ code: extensions.code || "INTERNAL_SERVER_ERROR", message: first.message, extensions }));
  }
  return body.data;
}
