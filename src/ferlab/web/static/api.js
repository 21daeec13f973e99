// The JSON API's one client, shared by the breeding page (app.js) and Discover (discover.js):
// JSON bodies as application/json, raw bytes as octet-stream; a failed request throws the
// server's one-line message.
"use strict";

async function api(method, path, body, raw = false) {
  const opts = { method, headers: {} };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    opts.body = body;
    opts.headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, opts);
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { msg = (await r.json()).detail || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return raw ? r : r.json();
}
