// GraphiQL for gql_portal (development only). Our own file, not vendored: the page has no
// inline script, so its CSP needs no 'unsafe-inline' for scripts.
"use strict";

const EXAMPLE_QUERY = `# gql_portal's GraphiQL. Sign in first:
#
# mutation { login(email: "secadmin@demo.example", password: "correct-horse-battery") { status token } }
#
# then put the token in the Headers tab: {"Authorization": "Bearer gqlp_..."}
{ me { email roles twoFactor { state } } }
`;

const url = new URL("/graphql", window.location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

const fetcher = GraphiQL.createFetcher({
  url: url.toString(),
  subscriptionUrl: subscriptionUrl.toString(),
  // The Headers tab's bearer token is the credential here, never the portal's session
  // cookie (a cookie request without X-Session-Transport is refused: CSRF).
  fetch: (input, init) => window.fetch(input, { ...init, credentials: "omit" }),
});

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: EXAMPLE_QUERY,
    defaultEditorToolsVisibility: true,
  }),
);
