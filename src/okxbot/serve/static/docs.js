// Swagger UI for okxbot's API, with the session's CSRF token on every "Try it out" change.
let csrf = null;
fetch("/api/session", { credentials: "same-origin" })
  .then((r) => (r.ok ? r.json() : null))
  .then((s) => { csrf = s && s.csrf; });
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  requestInterceptor: (req) => {
    if (csrf && req.method && req.method.toUpperCase() !== "GET") req.headers["X-CSRF-Token"] = csrf;
    return req;
  },
});
