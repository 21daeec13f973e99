// ferlab breed: plain JS over the JSON API. Views are chosen by the URL hash; the session id
// lives in the query string (?s=...) and in localStorage, so a reload or a server restart
// resumes where you were. All script lives in static files (the page's CSP allows no inline code).
"use strict";

const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
const MAX_SESSIONS = 30;
const state = { session: null, data: null, selected: new Set(), busy: false, dismissedScreen: null,
                view: { key: null, window: [-1, 1, -1, 1], image: null } };

function status(msg, ok = false) {
  const el = $("status");
  el.textContent = msg || "";
  el.className = ok ? "ok" : "";
}

function clearErrors() {
  document.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  status("");
}

// One action at a time: buttons disabled, a spinner, and any error shown next to the control
// that caused it (`errId`), cleared when the next action starts.
async function busy(label, fn, errId) {
  if (state.busy) return;
  clearErrors();
  state.busy = true;
  document.body.classList.add("busy");
  $("main").setAttribute("aria-busy", "true");
  $("spinner").hidden = false;
  status(label + "…", true);
  updateButtons();
  try {
    await fn();
    status("");
  } catch (e) {
    status("");
    const el = errId && $(errId);
    if (el) el.textContent = e.message; else status(e.message);
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
    $("main").removeAttribute("aria-busy");
    $("spinner").hidden = true;
    updateButtons();
  }
}

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function fileName(resp, fallback) {
  const m = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "");
  return m ? m[1] : fallback;
}

const thumb = (key) => `/api/genomes/${key}/thumb.png`;

// ------------------------------------------------------------------------------- session
function knownSessions() {
  try {
    const v = JSON.parse(localStorage.getItem("ferlab.sessions") || "[]");
    return Array.isArray(v) ? v.filter((s) => typeof s === "string") : [];
  } catch (e) { return []; }
}

function remember(sid) {
  const list = [sid, ...knownSessions().filter((s) => s !== sid)].slice(0, MAX_SESSIONS);
  localStorage.setItem("ferlab.sessions", JSON.stringify(list));
  localStorage.setItem("ferlab.session", sid);
}

function setSession(data) {
  state.data = data;
  state.session = data.session;
  state.selected.clear();
  state.dismissedScreen = null;
  $("tab-warning").hidden = true;
  remember(data.session);
  // Other tabs on this session learn of the move through the storage event.
  localStorage.setItem(`ferlab.screen.${data.session}`, String(data.screen.id));
  const url = new URL(location.href);
  if (url.searchParams.get("s") !== data.session) {
    url.searchParams.set("s", data.session);
    history.replaceState(null, "", url);
  }
  // Back on an earlier screen: re-select the parents that were picked from it.
  const next = redoChain(data)[0];
  if (next) next.parents.forEach((k) => state.selected.add(k));
  renderBreed();
}

function childrenOf(d) {
  const kids = {};
  d.tree.forEach((t) => { (kids[t.prev] = kids[t.prev] || []).push(t); });
  return kids;
}

// The screens Forward walks through: towards the newest screen below the current one.
function redoChain(d) {
  if (!d || !d.tree) return [];
  const kids = childrenOf(d);
  const newest = (t) => Math.max(t.screen, ...(kids[t.screen] || []).map(newest));
  const chain = [];
  let at = d.screen.id;
  while (kids[at] && kids[at].length) {
    const best = kids[at].reduce((a, b) => (newest(b) > newest(a) ? b : a));
    chain.push(best);
    at = best.screen;
  }
  return chain;
}

function renderBreed() {
  const d = state.data;
  const grid = $("grid");
  grid.innerHTML = "";
  if (!d) { updateButtons(); return; }
  $("generation").textContent = `Generation ${d.screen.generation}`;
  $("strength").value = d.screen.strength;
  $("strength-val").textContent = Number(d.screen.strength).toFixed(2);
  const parentsOfThis = new Set((d.history[d.history.length - 1] || {}).parents || []);
  d.screen.genomes.forEach((g, i) => {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.key = g.key;
    tile.setAttribute("data-testid", "tile");
    tile.tabIndex = 0;
    tile.setAttribute("role", "checkbox");
    tile.title = `${g.nodes} nodes, ${g.links} links`;
    if (parentsOfThis.has(g.key)) tile.classList.add("kept");
    const img = document.createElement("img");
    img.src = thumb(g.key);
    img.alt = `image ${i + 1}`;
    tile.appendChild(img);
    if (g.image) {
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = `#${g.image}`;
      tile.appendChild(b);
    }
    const open = document.createElement("button");
    open.className = "open";
    open.textContent = "⤢";
    open.title = "Open large";
    open.tabIndex = -1;
    open.addEventListener("click", (ev) => { ev.stopPropagation(); location.hash = `#/genome/${g.key}`; });
    tile.appendChild(open);
    tile.addEventListener("click", () => toggle(tile));
    tile.addEventListener("keydown", (ev) => tileKey(ev, tile, i));
    grid.appendChild(tile);
  });
  markSelected();
  renderHistory(d);
  updateButtons();
}

function toggle(tile) {
  const k = tile.dataset.key;
  if (state.selected.has(k)) state.selected.delete(k); else state.selected.add(k);
  markSelected();
  updateButtons();
}

function markSelected() {
  document.querySelectorAll("#grid .tile").forEach((t) => {
    const on = state.selected.has(t.dataset.key);
    t.classList.toggle("selected", on);
    t.setAttribute("aria-checked", on ? "true" : "false");
  });
}

function tileKey(ev, tile, i) {
  const tiles = [...document.querySelectorAll("#grid .tile")];
  const cols = getComputedStyle($("grid")).gridTemplateColumns.split(" ").length || 5;
  const move = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols }[ev.key];
  if (ev.key === " ") { ev.preventDefault(); toggle(tile); }
  else if (ev.key === "Enter") { ev.preventDefault(); if (state.selected.size) evolve(); }
  else if (move !== undefined && tiles[i + move]) { ev.preventDefault(); tiles[i + move].focus(); }
}

// Screens as a tree: one column per generation; a branch starts a new row.
function renderHistory(d) {
  const hist = $("history");
  hist.innerHTML = "";
  const kids = childrenOf(d);
  const onPath = new Set(d.history.map((h) => h.screen));
  const redo = new Set(redoChain(d).map((t) => t.screen));
  let row = 0;
  const place = (t, r) => {
    const b = document.createElement("button");
    b.textContent = `gen ${t.generation}`;
    b.dataset.screen = t.screen;
    b.style.gridColumn = String(t.generation + 1);
    b.style.gridRow = String(r + 1);
    b.title = t.parents.length ? `bred from ${t.parents.length} parent(s)` : "first screen";
    if (t.screen === d.screen.id) b.classList.add("current");
    else if (onPath.has(t.screen)) b.classList.add("path");
    else if (redo.has(t.screen)) b.classList.add("redo");
    b.addEventListener("click", () => goBack(t.screen));
    hist.appendChild(b);
    (kids[t.screen] || []).forEach((c, k) => { if (k > 0) row += 1; place(c, k > 0 ? row : r); });
  };
  (kids[null] || kids[undefined] || []).forEach((root) => { place(root, row); row += 1; });
}

function updateButtons() {
  const has = !!state.data;
  const b = state.busy;
  $("evolve").disabled = b || !has || state.selected.size === 0;
  $("back").disabled = b || !has || !state.data.screen.prev;
  $("forward").disabled = b || !has || redoChain(state.data).length === 0;
  $("publish").disabled = b || !has || state.selected.size !== 1;
  ["new-grey", "new-colour", "save-edited", "breed-edited", "tab-follow"].forEach((id) => { $(id).disabled = b; });
  $("import-file").disabled = b;
}

async function loadSession(sid) {
  try {
    setSession(await api("GET", `/api/sessions/${encodeURIComponent(sid)}`));
  } catch (e) {
    localStorage.removeItem("ferlab.session");
    $("start-error").textContent = `Could not resume session: ${e.message}`;
  }
}

// A new session leaves the current one in the session list; ask only when it has history.
function okToLeave(what) {
  const d = state.data;
  if (!d || d.tree.length <= 1) return true;
  return confirm(`${what}? This session (generation ${d.screen.generation}) stays in your Sessions list.`);
}

function start(colour) {
  if (!okToLeave("Start a new session")) return;
  busy("Starting", async () => setSession(await api("POST", "/api/sessions", { start: "scratch", colour })),
       "start-error");
}

function evolve() {
  const d = state.data;
  if (!d || state.busy) return;
  const parents = d.screen.genomes.map((g) => g.key).filter((k) => state.selected.has(k));
  const strength = Number($("strength").value);
  const keep_parents = $("keep-parents").checked;
  const fromKeyboard = document.activeElement && document.activeElement.classList.contains("tile");
  busy("Breeding", async () => {
    setSession(await api("POST", `/api/sessions/${d.session}/evolve`,
                         { screen: d.screen.id, parents, strength, keep_parents }));
    const first = $("grid").querySelector(".tile");
    if (fromKeyboard && first) first.focus();  // the old tiles are gone; keep the keyboard in the grid
  }, "evolve-error");
}

function goBack(screen) {
  const d = state.data;
  if (!d) return;
  if (screen === undefined) screen = d.screen.prev;
  if (!screen) return;
  busy("Going back", async () => setSession(await api("POST", `/api/sessions/${d.session}/back`, { screen })),
       "evolve-error");
}

function goForward() {
  const next = redoChain(state.data)[0];
  if (next) goBack(next.screen);
}

function publish() {
  const d = state.data;
  const [key] = [...state.selected];
  const title = $("title").value.trim();
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  clearErrors();
  if (!title) { $("publish-error").textContent = "Give the image a title first"; return; }
  busy("Publishing", async () => {
    const img = await api("POST", `/api/sessions/${d.session}/publish`, { genome: key, title, tags });
    $("publish-msg").textContent = `Published as image #${img.id}` + (img.parent ? ` (parent #${img.parent})` : "");
    $("title").value = "";
    $("tags").value = "";
    setSession(await api("GET", `/api/sessions/${d.session}`));
  }, "publish-error");
}

function importFile(file) {
  if (!file) return;
  if (!okToLeave(`Import ${file.name} as a new session`)) return;
  busy("Importing", async () => {
    const name = encodeURIComponent(file.name.replace(/\.[^.]*$/, ""));
    setSession(await api("POST", `/api/sessions/import?name=${name}`, file));
    location.hash = "#/breed";
  }, "start-error");
}

async function showSessions() {
  const list = $("session-list");
  list.innerHTML = "";
  const ids = knownSessions();
  if (!ids.length) { list.textContent = "No sessions yet."; return; }
  const { sessions } = await api("POST", "/api/sessions/summary", { ids });
  sessions.sort((a, b) => b.updated - a.updated).forEach((s) => {
    const b = document.createElement("button");
    b.setAttribute("data-testid", "session-item");
    b.dataset.session = s.session;
    if (s.session === state.session) b.classList.add("current");
    const img = document.createElement("img");
    img.alt = "";
    if (s.key) img.src = thumb(s.key);
    const t = document.createElement("span");
    t.textContent = `gen ${s.generation} · ${s.screens} screens · ${new Date(s.updated * 1000).toLocaleString()}`;
    b.append(img, t);
    b.addEventListener("click", () => {
      $("sessions").open = false;
      busy("Opening", async () => setSession(await api("GET", `/api/sessions/${s.session}`)), "start-error");
    });
    list.appendChild(b);
  });
}

// Another tab moved this session on: say so instead of silently forking it.
function otherTabMoved(screenId) {
  const d = state.data;
  if (!d || screenId === d.screen.id || screenId === state.dismissedScreen) return;
  $("tab-warning-text").textContent = "This session was moved on in another tab or window.";
  $("tab-warning").hidden = false;
  $("tab-warning").dataset.screen = screenId;
}

async function checkSession() {
  if (!state.session || document.hidden) return;
  try {
    const s = await api("GET", `/api/sessions/${state.session}`);
    otherTabMoved(s.screen.id);
  } catch (e) { /* offline for a moment: keep what is shown */ }
}

// ------------------------------------------------------------------------------- gallery
const GALLERY_PAGE = 24;
const gal = { offset: 0, q: "", sort: "new", tag: "", total: 0 };

function card(img) {
  const c = document.createElement("div");
  c.className = "card";
  c.setAttribute("data-testid", "card");
  c.dataset.image = img.id;
  c.innerHTML = `<img alt=""><div class="t"></div>`;
  c.querySelector("img").src = thumb(img.key);
  c.querySelector(".t").textContent = `#${img.id} ${img.title}`;
  c.title = img.title;
  c.tabIndex = 0;
  c.addEventListener("click", () => { location.hash = `#/image/${img.id}`; });
  c.addEventListener("keydown", (ev) => { if (ev.key === "Enter") location.hash = `#/image/${img.id}`; });
  (img.tags || []).forEach((t) => {
    const chip = document.createElement("button");
    chip.className = "chip";
    chip.textContent = t;
    chip.addEventListener("click", (ev) => { ev.stopPropagation(); filterTag(t); });
    c.appendChild(chip);
  });
  return c;
}

function filterTag(t) {
  gal.tag = t;
  gal.offset = 0;
  if (location.hash !== "#/gallery") location.hash = "#/gallery"; else showGallery();
}

async function showGallery() {
  const p = new URLSearchParams({ limit: GALLERY_PAGE, offset: gal.offset, q: gal.q, sort: gal.sort, tag: gal.tag });
  const g = await api("GET", `/api/gallery?${p}`);
  gal.total = g.total;
  const grid = $("gallery-grid");
  grid.innerHTML = "";
  g.images.forEach((img) => grid.appendChild(card(img)));
  $("gallery-empty").hidden = g.images.length > 0;
  $("gallery-empty").textContent = gal.q || gal.tag ? "Nothing matches." : "Nothing published yet.";
  const pages = Math.max(1, Math.ceil(g.total / GALLERY_PAGE));
  $("gallery-page").textContent = `page ${Math.floor(gal.offset / GALLERY_PAGE) + 1} of ${pages} · ${g.total} images`;
  $("gallery-prev").disabled = gal.offset === 0;
  $("gallery-next").disabled = gal.offset + GALLERY_PAGE >= g.total;
  const chip = $("gallery-tag");
  chip.hidden = !gal.tag;
  chip.textContent = gal.tag ? `tag: ${gal.tag} ✕` : "";
}

// --------------------------------------------------------------------------- large image
function bigUrl(res) {
  const w = state.view.window.map((v) => +v.toPrecision(8)).join(",");
  return `/api/genomes/${state.view.key}/image.png?res=${res}&window=${w}`;
}

function refreshBig() {
  $("spinner").hidden = false;  // a large render can take a moment; cleared on load/error
  $("big").src = bigUrl(512);
  $("window-text").textContent = state.view.window.map((v) => v.toFixed(4)).join(", ");
  $("dl-png").href = bigUrl($("res").value) + "&download=1";
}

function missingImage(msg) {
  $("image-title").textContent = msg;
  $("viewer").hidden = true;
  $("lineage").hidden = true;
  $("image-tags").textContent = "";
}

async function showGenome(key, imageId) {
  state.view.key = key;
  state.view.window = [-1, 1, -1, 1];
  state.view.image = imageId || null;
  const info = await api("GET", `/api/genomes/${key}`);
  if (!imageId && info.image) state.view.image = imageId = info.image;
  $("viewer").hidden = false;
  $("image-title").textContent = info.title ? `#${info.image} ${info.title}`
    : `Unpublished genome${info.name ? " · " + info.name : ""}`;
  $("genome-facts").textContent = `${info.nodes} nodes, ${info.links} links, ` +
    (info.colour ? "colour" : "greyscale") + (info.id ? `, id ${info.id}` : "");
  $("dl-xml").href = `/api/genomes/${key}/genome.xml`;
  $("explore-link").href = `#/explore/${key}`;
  $("branch").hidden = !imageId;
  $("image-tags").textContent = "";
  refreshBig();
  const lin = $("lineage");
  lin.hidden = !imageId;
  if (imageId) {
    const im = await api("GET", `/api/gallery/${imageId}`);
    (im.tags || []).forEach((t) => {
      const chip = document.createElement("button");
      chip.className = "chip";
      chip.textContent = t;
      chip.addEventListener("click", () => filterTag(t));
      $("image-tags").appendChild(chip);
    });
    const anc = $("ancestors");
    anc.innerHTML = "";
    if (!im.ancestors.length) anc.textContent = "none: a root";
    im.ancestors.forEach((a) => { anc.appendChild(card(a)); anc.append("→"); });
    const desc = $("descendants");
    desc.innerHTML = "";
    if (!im.descendants.length) desc.textContent = "none yet";
    const byParent = {};
    im.descendants.forEach((x) => { (byParent[x.parent] = byParent[x.parent] || []).push(x); });
    const walk = (pid, depth) => (byParent[pid] || []).forEach((x) => {
      const row = document.createElement("div");
      row.className = "row";
      row.style.marginLeft = `${(depth - 1) * 24}px`;
      row.appendChild(card(x));
      desc.appendChild(row);
      walk(x.id, depth + 1);
    });
    walk(im.id, 1);
  }
}

function zoom(ev) {
  const r = $("big").getBoundingClientRect();
  const fx = (ev.clientX - r.left) / r.width, fy = (ev.clientY - r.top) / r.height;
  const [x0, x1, y0, y1] = state.view.window;
  const cx = x0 + fx * (x1 - x0), cy = y0 + fy * (y1 - y0);
  const k = ev.shiftKey ? 2 : 0.5;
  const hw = (x1 - x0) * k / 2, hh = (y1 - y0) * k / 2;
  state.view.window = [cx - hw, cx + hw, cy - hh, cy + hh];
  refreshBig();
}

function branch() {
  if (!state.view.image) return;
  busy("Branching", async () => {
    setSession(await api("POST", "/api/sessions", { start: "image", image: state.view.image }));
    location.hash = "#/breed";
  });
}

// ------------------------------------------------------------------------------- explore
const ex = { key: null, graph: null, weights: {}, link: null, node: null, inflight: false, pending: false,
             box: null, view: null, scan: null, timers: {} };

async function showExplore(key) {
  stopScan();
  ex.key = key; ex.weights = {}; ex.link = null; ex.node = null;
  $("dense-link").href = `#/dense/genome:${key}`;
  $("link-panel").hidden = true;
  $("node-panel").hidden = true;
  $("explore-name").textContent = "…";
  $("graph").innerHTML = "";
  await busy("Loading genome", async () => {
    const [graph, maps, info] = await Promise.all([api("GET", `/api/genomes/${key}/graph`),
                                                   api("GET", `/api/genomes/${key}/nodes?res=40`),
                                                   api("GET", `/api/genomes/${key}`)]);
    ex.graph = graph;
    $("explore-name").textContent = info.title ? `#${info.image} ${info.title}` : (graph.name || "unpublished genome");
    drawLegend(graph);
    drawGraph(graph, maps);
    editedCount();
    await liveRender();
  }, "explore-error");
}

function groupColour(id) {
  const g = ex.graph.groups.find((x) => x.id === id);
  return g ? g.color : null;
}

function drawLegend(graph) {
  const lg = $("legend");
  lg.innerHTML = "";
  if (!graph.groups.length) { lg.textContent = "No CPPN-X labels in this genome."; return; }
  graph.groups.forEach((g) => {
    const b = document.createElement("button");
    b.textContent = g.text;
    b.style.borderLeftColor = g.color;
    b.dataset.group = g.id;
    b.setAttribute("data-testid", "legend-item");
    b.title = "Highlight the genes with this label";
    b.addEventListener("click", () => highlightGroup(b.classList.contains("on") ? null : g.id));
    lg.appendChild(b);
  });
}

function highlightGroup(id) {
  document.querySelectorAll("#legend button").forEach((b) => b.classList.toggle("on", Number(b.dataset.group) === id));
  const svg = $("graph");
  svg.classList.toggle("highlighting", id !== null);
  svg.querySelectorAll(".link, .node, .link-label").forEach((el) => el.classList.toggle("hl", id !== null && Number(el.dataset.group) === id));
}

function layout(graph) {
  const pos = {};
  if (graph.positions) {
    graph.nodes.forEach((n) => { pos[n.id] = { x: n.pos[0], y: n.pos[1] }; });
  } else {
    // Inputs at the bottom, outputs at the top, as CPPN-X draws them.
    const colW = 90, rowH = 110;
    graph.nodes.forEach((n) => { pos[n.id] = { x: n.row * colW, y: (graph.columns - 1 - n.depth) * rowH }; });
  }
  // Stretch a tall drawing sideways (up to 2.5×) to use the box's width: positions are only a
  // layout, and spreading them apart keeps labels from piling up.
  const span = (v) => Math.max(...v) - Math.min(...v) || 1;
  const wrap = $("graph-wrap");
  const want = wrap.clientWidth / Math.max(1, wrap.clientHeight);
  const have = span(Object.values(pos).map((p) => p.x)) / span(Object.values(pos).map((p) => p.y));
  const stretch = Math.max(1, Math.min(2.5, want / have));
  Object.values(pos).forEach((p) => { p.x *= stretch; });
  const xs = Object.values(pos).map((p) => p.x), ys = Object.values(pos).map((p) => p.y);
  const pad = 0.08 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 400);
  return { pos, box: [Math.min(...xs) - pad, Math.min(...ys) - pad,
                      Math.max(...xs) - Math.min(...xs) + 2 * pad, Math.max(...ys) - Math.min(...ys) + 2.4 * pad] };
}

function setView(v) {
  ex.view = v;
  $("graph").setAttribute("viewBox", v.map((x) => +x.toFixed(2)).join(" "));
}

function drawGraph(graph, maps) {
  const svg = $("graph");
  const { pos, box } = layout(graph);
  // Nodes and text grow with the drawing, so they stay legible once it is fitted to the box.
  const size = Math.round(Math.max(40, 0.05 * Math.max(box[2], box[3]))), half = size / 2;
  svg.style.fontSize = `${Math.max(10, size / 4.2)}px`;
  ex.box = box;
  svg.innerHTML = "";
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  setView(box.slice());
  const linkLayer = document.createElementNS(NS, "g");
  const labelLayer = document.createElementNS(NS, "g");
  graph.links.forEach((l) => {
    const a = pos[l.source], b = pos[l.target];
    const dx = b.x - a.x, dy = b.y - a.y;
    // A gentle bend so links between the same rows stay apart.
    const mx = (a.x + b.x) / 2 - dy * 0.12, my = (a.y + b.y) / 2 + dx * 0.12;
    const d = `M${a.x},${a.y} Q${mx},${my} ${b.x},${b.y}`;
    const hit = document.createElementNS(NS, "path");
    hit.setAttribute("d", d);
    hit.setAttribute("class", "hit");
    hit.setAttribute("data-testid", "link");
    hit.dataset.link = l.id;
    hit.addEventListener("click", (ev) => { ev.stopPropagation(); selectLink(l.id); });
    const vis = document.createElementNS(NS, "path");
    vis.setAttribute("d", d);
    vis.setAttribute("class", "link");
    vis.dataset.link = l.id;
    vis.dataset.group = l.group;
    vis.style.stroke = groupColour(l.group) || (l.weight >= 0 ? "#2a6fdb" : "#d33");
    vis.style.strokeWidth = 0.6 + Math.min(Math.abs(l.weight), 3);
    if (l.weight < 0) vis.style.strokeDasharray = "6 3";
    vis.style.pointerEvents = "none";
    const title = document.createElementNS(NS, "title");
    title.textContent = `${l.id}: ${l.weight.toFixed(3)}${l.text ? " — " + l.text : ""}`;
    hit.appendChild(title);
    linkLayer.append(hit, vis);
    if (l.text) {
      const t = document.createElementNS(NS, "text");
      t.setAttribute("class", "link-label");
      t.dataset.group = l.group;
      t.setAttribute("x", (a.x + 2 * mx + b.x) / 4);
      t.setAttribute("y", (a.y + 2 * my + b.y) / 4);
      t.setAttribute("text-anchor", "middle");
      t.style.fill = groupColour(l.group) || "#333";
      t.textContent = l.text;
      labelLayer.appendChild(t);
    }
  });
  svg.appendChild(linkLayer);
  graph.nodes.forEach((n) => {
    const p = pos[n.id];
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", "node");
    g.setAttribute("data-testid", "node");
    g.dataset.node = n.id;
    g.dataset.group = n.group;
    const frame = document.createElementNS(NS, "rect");
    frame.setAttribute("x", p.x - half - 2); frame.setAttribute("y", p.y - half - 2);
    frame.setAttribute("width", size + 4); frame.setAttribute("height", size + 4);
    frame.style.stroke = groupColour(n.group) || (n.kind === "hidden" ? "#999" : "#222");
    const im = document.createElementNS(NS, "image");
    im.setAttribute("x", p.x - half); im.setAttribute("y", p.y - half);
    im.setAttribute("width", size); im.setAttribute("height", size);
    im.setAttribute("href", maps[n.id] || "");
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", p.x); t.setAttribute("y", p.y + half + size / 4);
    t.setAttribute("text-anchor", "middle");
    t.setAttribute("class", "node-label");
    t.textContent = n.label || n.activation;
    const title = document.createElementNS(NS, "title");
    title.textContent = `${n.id} ${n.kind} ${n.activation}${n.text ? " — " + n.text : ""}`;
    g.append(title, frame, im, t);
    if (n.text) {
      const lt = document.createElementNS(NS, "text");
      lt.setAttribute("x", p.x); lt.setAttribute("y", p.y + half + size / 2);
      lt.setAttribute("text-anchor", "middle");
      lt.setAttribute("class", "node-text");
      lt.style.fill = groupColour(n.group) || "#333";
      lt.textContent = n.text;
      g.appendChild(lt);
    }
    g.addEventListener("click", (ev) => { ev.stopPropagation(); selectNode(n.id); });
    svg.appendChild(g);
  });
  svg.appendChild(labelLayer);
  svg.classList.toggle("no-link-labels", !$("show-link-labels").checked);
}

// Wheel zooms about the pointer; dragging the background pans.
function svgPoint(ev) {
  const r = $("graph").getBoundingClientRect();
  const [x, y, w, h] = ex.view;
  const s = Math.max(w / r.width, h / r.height);
  const ox = x + w / 2 - (r.width * s) / 2, oy = y + h / 2 - (r.height * s) / 2;
  return { x: ox + (ev.clientX - r.left) * s, y: oy + (ev.clientY - r.top) * s, s };
}

function wheelZoom(ev) {
  if (!ex.view) return;
  ev.preventDefault();
  const p = svgPoint(ev);
  const k = Math.exp(Math.sign(ev.deltaY) * 0.15);
  const [x, y, w, h] = ex.view;
  setView([p.x - (p.x - x) * k, p.y - (p.y - y) * k, w * k, h * k]);
}

function startPan(ev) {
  if (!ex.view || ev.button !== 0) return;
  const svg = $("graph");
  const start = { x: ev.clientX, y: ev.clientY, view: ex.view.slice(), s: svgPoint(ev).s };
  svg.classList.add("panning");
  const move = (e) => setView([start.view[0] - (e.clientX - start.x) * start.s,
                               start.view[1] - (e.clientY - start.y) * start.s, start.view[2], start.view[3]]);
  const up = () => { svg.classList.remove("panning"); window.removeEventListener("pointermove", move);
                     window.removeEventListener("pointerup", up); };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

function linkOf(id) { return ex.graph.links.find((l) => l.id === id); }

function linkWeight(id) {
  if (id in ex.weights) return ex.weights[id];
  return linkOf(id).weight;
}

// CPPN-X's slider range: the link's bookends when the file has them, else -3..3 (widened to
// include the weight), always with a fine step.
function linkRange(l) {
  let lo = -3, hi = 3, step = 0.1;
  if (l.bookends && l.bookends[0] < l.bookends[1]) {
    [lo, hi] = l.bookends;
    if (l.bookends[2] > 0 && l.bookends[2] <= hi - lo) step = l.bookends[2];
  }
  return { lo: Math.min(lo, l.weight), hi: Math.max(hi, l.weight), step };
}

function selectLink(id) {
  stopScan();
  ex.link = id;
  ex.scan = null;
  document.querySelectorAll("#graph .link").forEach((p) => p.classList.toggle("selected", p.dataset.link === id));
  const l = linkOf(id);
  $("link-panel").hidden = false;
  $("link-id").textContent = id;
  $("link-ends").textContent = `${l.source} → ${l.target}`;
  $("link-label").textContent = l.text ? `“${l.text}”` : "";
  if (l.text) $("link-label").style.color = groupColour(l.group) || "";
  const r = linkRange(l);
  ["weight", "weight-num"].forEach((k) => { $(k).min = r.lo; $(k).max = r.hi; $(k).step = 0.01; });
  $("weight-range").textContent = `range ${r.lo} … ${r.hi}, scan step ${r.step}` +
    (l.original !== null && l.original !== undefined ? ` · original ${l.original.toFixed(3)}` : "");
  showWeight(linkWeight(id));
  $("scan-frame").textContent = "";
  sweep();
}

function showWeight(w) {
  $("weight").value = w;
  $("weight-num").value = (+w).toFixed(2);
}

function setWeight(w) {
  if (!ex.link || !Number.isFinite(w)) return;
  ex.weights[ex.link] = w;
  showWeight(w);
  editedCount();
  liveRender();
  later("sweep", sweep, 150);
  if (ex.node) later("node", refreshNode, 250);
}

function later(name, fn, ms) {
  clearTimeout(ex.timers[name]);
  ex.timers[name] = setTimeout(fn, ms);
}

function editedCount() {
  const n = Object.keys(ex.weights).length;
  $("edited-count").textContent = n ? `${n} weight${n > 1 ? "s" : ""} edited` : "";
}

async function blobInto(resp, img) {
  const old = img.src;
  img.src = URL.createObjectURL(await resp.blob());
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

async function sweep() {
  if (!ex.link) return;
  try {
    const r = await api("POST", `/api/genomes/${ex.key}/sweep`, { weights: ex.weights, link: ex.link, res: 96 }, true);
    await blobInto(r, $("sweep"));
  } catch (e) { $("explore-error").textContent = e.message; }
}

async function selectNode(id) {
  ex.node = id;
  document.querySelectorAll("#graph .node").forEach((g) => g.classList.toggle("selected", g.dataset.node === id));
  const n = ex.graph.nodes.find((x) => x.id === id);
  $("node-panel").hidden = false;
  $("node-id").textContent = id;
  $("node-desc").textContent = `${n.kind} ${n.activation}${n.label ? " · " + n.label : ""}${n.text ? " · “" + n.text + "”" : ""}`;
  await refreshNode();
}

async function refreshNode() {
  if (!ex.node) return;
  try {
    const r = await api("POST", `/api/genomes/${ex.key}/node`, { weights: ex.weights, node: ex.node, res: 256 }, true);
    const [lo, hi] = (r.headers.get("X-Range") || ",").split(",");
    $("node-range").textContent = `values ${(+lo).toFixed(3)} … ${(+hi).toFixed(3)} (grey: −1 black, 0 mid, +1 white)`;
    await blobInto(r, $("node-big"));
  } catch (e) { $("explore-error").textContent = e.message; }
}

async function drawOnLive(blob) {
  const bmp = await createImageBitmap(blob);
  const c = $("live");
  c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
  bmp.close();
}

async function liveRender() {
  // One request in flight; the latest slider position wins.
  if (ex.inflight) { ex.pending = true; return; }
  ex.inflight = true;
  try {
    const r = await api("POST", `/api/genomes/${ex.key}/render`, { weights: ex.weights, res: 256 }, true);
    await drawOnLive(await r.blob());
    $("live").dataset.renders = String(Number($("live").dataset.renders || 0) + 1);
  } catch (e) {
    $("explore-error").textContent = e.message;
  } finally {
    ex.inflight = false;
    if (ex.pending) { ex.pending = false; liveRender(); }
  }
}

// ------------------------------------------------------------------------------- scan
const SCAN_RES = 192, SCAN_FPS = 12;

function scanBody(format, res) {
  const r = linkRange(linkOf(ex.link));
  const others = { ...ex.weights };
  delete others[ex.link];
  return { weights: others, link: ex.link, res, start: r.lo, end: r.hi, step: r.step, format };
}

async function loadScan() {
  const r = await api("POST", `/api/genomes/${ex.key}/scan`, scanBody("sprite", SCAN_RES), true);
  const values = r.headers.get("X-Values").split(",").map(Number);
  const sprite = await createImageBitmap(await r.blob());
  return { link: ex.link, values, sprite, frame: 0, dir: 1, timer: null };
}

async function toggleScan() {
  if (ex.scan && ex.scan.timer) { stopScan(); return; }
  if (!ex.link) return;
  const btn = $("scan-play");
  try {
    if (!ex.scan || ex.scan.link !== ex.link) {
      btn.disabled = true;
      $("spinner").hidden = false;
      ex.scan = await loadScan();
    }
    // Start from the frame nearest the slider, like CPPN-X continuing from where you are.
    const w = linkWeight(ex.link);
    ex.scan.frame = ex.scan.values.reduce((best, v, i, a) => (Math.abs(v - w) < Math.abs(a[best] - w) ? i : best), 0);
  } catch (e) {
    $("explore-error").textContent = e.message;
    return;
  } finally {
    btn.disabled = false;
    $("spinner").hidden = true;
  }
  btn.dataset.state = "playing";
  btn.textContent = "Stop scan";
  ex.scan.timer = setInterval(scanStep, 1000 / SCAN_FPS);
  scanStep();
}

function scanStep() {
  const s = ex.scan;
  if (!s) return;
  const c = $("live");
  c.getContext("2d").drawImage(s.sprite, 0, s.frame * SCAN_RES, SCAN_RES, SCAN_RES, 0, 0, c.width, c.height);
  const w = s.values[s.frame];
  ex.weights[s.link] = w;
  showWeight(w);
  $("scan-frame").textContent = `frame ${s.frame + 1}/${s.values.length}`;
  $("scan-frame").dataset.frame = String(s.frame);
  editedCount();
  let next = s.frame + s.dir;
  if (next < 0 || next >= s.values.length) {
    if (!$("scan-loop").checked) { stopScan(); return; }
    s.dir = -s.dir;  // CPPN-X scans back and forth
    next = s.frame + s.dir;
  }
  s.frame = Math.max(0, Math.min(s.values.length - 1, next));
}

function stopScan() {
  const s = ex.scan;
  if (s && s.timer) {
    clearInterval(s.timer);
    s.timer = null;
    liveRender();  // the full-resolution picture at the weight the scan stopped on
    sweep();
  }
  const btn = $("scan-play");
  btn.dataset.state = "stopped";
  btn.textContent = "Start scan";
}

function exportScan(format) {
  if (!ex.link) return;
  busy("Rendering the scan", async () => {
    const r = await api("POST", `/api/genomes/${ex.key}/scan`, scanBody(format, 256), true);
    download(await r.blob(), fileName(r, `scan.${format}`));
  }, "explore-error");
}

function saveEdited() {
  const format = $("save-format").value;
  busy("Saving", async () => {
    const r = await api("POST", `/api/genomes/${ex.key}/export`, { weights: ex.weights, format }, true);
    download(await r.blob(), fileName(r, format === "json" ? "genome.json" : "genome.xml"));
  }, "explore-error");
}

function breedEdited() {
  if (!okToLeave("Continue breeding from this genome")) return;
  stopScan();
  busy("Starting a session", async () => {
    setSession(await api("POST", `/api/genomes/${ex.key}/breed`, { weights: ex.weights }));
    location.hash = "#/breed";
  }, "explore-error");
}

function resetAll() {
  stopScan();
  ex.weights = {};
  ex.scan = null;
  editedCount();
  if (ex.link) selectLink(ex.link);
  if (ex.node) refreshNode();
  liveRender();
}

// ---------------------------------------------------------------------- dense layer grid
// Panes over dense networks ("genome:KEY" layerized, "net:KEY" an uploaded .npz). Each pane
// selects its own weight; one shared δ moves every pane's selected weight.
const dn = { sources: [], panes: [], delta: 0 };
const DENSE_RES = 192, NEURON_RES = 24;

async function showDense(sources) {
  dn.sources = sources;
  dn.delta = 0;
  $("dense-delta").value = 0;
  $("dense-delta-val").textContent = "0.00";
  const wrap = $("panes");
  wrap.innerHTML = "";
  await busy("Loading networks", async () => {
    const grids = await Promise.all(sources.map((src) => api("GET", `/api/dense/${encodeURIComponent(src)}/grid`)));
    dn.panes = grids.map((grid, i) => makePane(sources[i], grid));
    dn.panes.forEach((p) => wrap.appendChild(p.el));
    await Promise.all(dn.panes.map(refreshPane));
  }, "dense-error");
}

function makePane(src, grid) {
  const el = document.createElement("div");
  el.className = "pane";
  el.setAttribute("data-testid", "pane");
  el.dataset.source = src;
  el.innerHTML = `<h3></h3><div class="top"><img class="live" alt="the network's image">
    <div><p class="sel"></p><img class="strip" alt="sweep of the selected weight" hidden></div></div>
    <div class="layers"></div><div class="incoming"></div>`;
  el.querySelector("h3").textContent = `${grid.name} · ${grid.arch}`;
  const pane = { src, grid, el, sel: null, neuron: null, inflight: false, pending: false };
  const layers = el.querySelector(".layers");
  grid.layers.forEach((names, L) => {
    const col = document.createElement("div");
    col.className = "layer";
    const lname = document.createElement("span");
    lname.className = "lname";
    lname.textContent = L === 0 ? "in" : L === grid.layers.length - 1 ? "out" : String(L);
    col.appendChild(lname);
    names.forEach((act, i) => {
      const b = document.createElement("button");
      b.className = "neuron";
      b.dataset.layer = L;
      b.dataset.index = i;
      b.setAttribute("data-testid", "neuron");
      b.title = `layer ${L}, neuron ${i}: ${act}`;
      b.appendChild(document.createElement("img"));
      b.addEventListener("click", () => pickNeuron(pane, L, i));
      col.appendChild(b);
    });
    layers.appendChild(col);
  });
  return pane;
}

function paneEdits(pane) {
  if (!pane.sel) return [];
  const [k, r, c] = pane.sel;
  return [[k, r, c, pane.grid.kernels[k][r][c] + dn.delta]];
}

function pickNeuron(pane, L, i) {
  pane.neuron = [L, i];
  pane.el.querySelectorAll(".neuron").forEach((b) => b.classList.toggle("picked",
    Number(b.dataset.layer) === L && Number(b.dataset.index) === i));
  const box = pane.el.querySelector(".incoming");
  box.innerHTML = "";
  if (L === 0) { box.textContent = "An input: it has no incoming weights."; return; }
  const k = L - 1;
  const kern = pane.grid.kernels[k];
  const label = document.createElement("span");
  label.textContent = `into layer ${L}, neuron ${i} (kernel ${k}, column ${i}):`;
  box.appendChild(label);
  kern.forEach((row, r) => {
    const w = row[i];
    const b = document.createElement("button");
    b.setAttribute("data-testid", "weight-cell");
    b.dataset.row = r;
    b.textContent = `${r}: ${w.toFixed(2)}`;
    if (w === 0) b.classList.add("zero");
    const origin = pane.grid.origin && pane.grid.origin[k][r][i];
    b.title = `weight (${k}, ${r}, ${i}) = ${w}` + (origin ? ` · from ${origin}` : "");
    if (pane.sel && pane.sel[0] === k && pane.sel[1] === r && pane.sel[2] === i) b.classList.add("on");
    b.addEventListener("click", () => pickWeight(pane, k, r, i));
    box.appendChild(b);
  });
}

function pickWeight(pane, k, r, c) {
  pane.sel = [k, r, c];
  pane.el.querySelectorAll(".incoming button").forEach((b) => b.classList.toggle("on", Number(b.dataset.row) === r));
  pane.el.querySelectorAll(".neuron").forEach((b) => b.classList.toggle("source",
    Number(b.dataset.layer) === k && Number(b.dataset.index) === r));
  refreshPane(pane);
}

async function refreshPane(pane) {
  if (pane.inflight) { pane.pending = true; return; }
  pane.inflight = true;
  try {
    const edits = paneEdits(pane);
    const [img, neu] = await Promise.all([
      api("POST", `/api/dense/${encodeURIComponent(pane.src)}/render`, { edits, res: DENSE_RES }, true),
      api("POST", `/api/dense/${encodeURIComponent(pane.src)}/neurons`, { edits, res: NEURON_RES })]);
    await blobInto(img, pane.el.querySelector(".live"));
    const buttons = pane.el.querySelectorAll(".neuron");
    let n = 0;
    buttons.forEach((b) => {
      const L = Number(b.dataset.layer), i = Number(b.dataset.index);
      b.querySelector("img").src = neu.maps[L][i];
      const ch = neu.change ? neu.change[L][i] : 0;
      // Outline width grows with the mean |Δ| of the neuron's map (activation units).
      const px = ch > 1e-4 ? Math.min(4, 1 + Math.round(ch * 8)) : 0;
      b.style.outlineWidth = `${px}px`;
      b.classList.toggle("changed", px > 0);
      if (px > 0) n += 1;
    });
    const sel = pane.el.querySelector(".sel");
    if (pane.sel) {
      const [k, r, c] = pane.sel;
      const w0 = pane.grid.kernels[k][r][c];
      const origin = pane.grid.origin && pane.grid.origin[k][r][c];
      sel.textContent = `weight (${k}, ${r}, ${c}): ${w0.toFixed(3)} → ${(w0 + dn.delta).toFixed(3)}` +
        (origin ? ` · from ${origin}` : "") + ` · ${n} neurons changed`;
      sel.dataset.changed = String(n);
      later(`dsweep-${pane.src}`, () => densePaneSweep(pane), 200);
    } else {
      sel.textContent = "No weight selected.";
    }
    pane.el.dataset.renders = String(Number(pane.el.dataset.renders || 0) + 1);
  } catch (e) {
    $("dense-error").textContent = e.message;
  } finally {
    pane.inflight = false;
    if (pane.pending) { pane.pending = false; refreshPane(pane); }
  }
}

async function densePaneSweep(pane) {
  if (!pane.sel) return;
  try {
    const r = await api("POST", `/api/dense/${encodeURIComponent(pane.src)}/sweep`,
                        { edits: paneEdits(pane), weight: pane.sel, res: 64 }, true);
    const img = pane.el.querySelector(".strip");
    img.hidden = false;
    await blobInto(r, img);
  } catch (e) { $("dense-error").textContent = e.message; }
}

function setDelta(d) {
  dn.delta = d;
  $("dense-delta-val").textContent = d.toFixed(2);
  dn.panes.forEach((p) => { if (p.sel) refreshPane(p); });
}

function importNet(file) {
  if (!file) return;
  busy("Reading the network", async () => {
    const name = encodeURIComponent(file.name.replace(/\.[^.]*$/, ""));
    const net = await api("POST", `/api/nets/import?name=${name}`, file);
    location.hash = `#/dense/${[...dn.sources.slice(0, 1), net.source].join("/")}`;
  }, "dense-error");
}

// -------------------------------------------------------------------------------- routing
async function route() {
  const parts = (location.hash || "#/breed").slice(2).split("/");
  const view = parts[0] || "breed";
  const show = { breed: "view-breed", gallery: "view-gallery", image: "view-image",
                 genome: "view-image", explore: "view-explore", dense: "view-dense" }[view] || "view-breed";
  if (show !== "view-explore") stopScan();
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== show; });
  $("tab-breed").classList.toggle("active", show === "view-breed");
  $("tab-gallery").classList.toggle("active", show === "view-gallery" || view === "image");
  clearErrors();
  try {
    if (view === "gallery") await showGallery();
    else if (view === "image") {
      let im;
      try {
        im = await api("GET", `/api/gallery/${encodeURIComponent(parts[1])}`);
      } catch (e) {
        missingImage(`No image #${(parts[1] || "").slice(0, 20)}: ${e.message}`);
        return;
      }
      await showGenome(im.key, im.id);
    } else if (view === "genome") {
      try { await showGenome(parts[1]); } catch (e) { missingImage(e.message); }
    } else if (view === "explore") await showExplore(parts[1]);
    else if (view === "dense") await showDense(parts.slice(1, 3).filter(Boolean).map(decodeURIComponent));
  } catch (e) {
    status(e.message);
  }
}

function init() {
  $("new-grey").addEventListener("click", () => start(false));
  $("new-colour").addEventListener("click", () => start(true));
  $("evolve").addEventListener("click", evolve);
  $("back").addEventListener("click", () => goBack());
  $("forward").addEventListener("click", goForward);
  $("publish").addEventListener("click", publish);
  $("import-file").addEventListener("change", (ev) => { importFile(ev.target.files[0]); ev.target.value = ""; });
  $("strength").addEventListener("input", () => { $("strength-val").textContent = Number($("strength").value).toFixed(2); });
  $("sessions").addEventListener("toggle", () => { if ($("sessions").open) showSessions().catch((e) => { $("start-error").textContent = e.message; }); });
  $("tab-follow").addEventListener("click", () => { $("tab-warning").hidden = true; loadSession(state.session); });
  $("tab-dismiss").addEventListener("click", () => {
    state.dismissedScreen = Number($("tab-warning").dataset.screen);
    $("tab-warning").hidden = true;
  });
  window.addEventListener("storage", (ev) => {
    if (state.session && ev.key === `ferlab.screen.${state.session}` && ev.newValue) otherTabMoved(Number(ev.newValue));
  });
  document.addEventListener("visibilitychange", checkSession);
  window.addEventListener("focus", checkSession);
  $("gallery-q").addEventListener("input", () => {
    later("gallery", () => { gal.q = $("gallery-q").value.trim(); gal.offset = 0; showGallery().catch((e) => status(e.message)); }, 250);
  });
  $("gallery-sort").addEventListener("change", () => { gal.sort = $("gallery-sort").value; gal.offset = 0; showGallery(); });
  $("gallery-tag").addEventListener("click", () => { gal.tag = ""; gal.offset = 0; showGallery(); });
  $("gallery-prev").addEventListener("click", () => { gal.offset = Math.max(0, gal.offset - GALLERY_PAGE); showGallery(); });
  $("gallery-next").addEventListener("click", () => { gal.offset += GALLERY_PAGE; showGallery(); });
  $("big").addEventListener("click", zoom);
  ["load", "error"].forEach((ev) => $("big").addEventListener(ev, () => { if (!state.busy) $("spinner").hidden = true; }));
  $("zoom-reset").addEventListener("click", () => { state.view.window = [-1, 1, -1, 1]; refreshBig(); });
  $("res").addEventListener("change", refreshBig);
  $("branch").addEventListener("click", branch);
  $("weight").addEventListener("input", () => { stopScan(); setWeight(Number($("weight").value)); });
  $("weight-num").addEventListener("change", () => { stopScan(); setWeight(Number($("weight-num").value)); });
  $("weight-reset").addEventListener("click", () => {
    stopScan();
    delete ex.weights[ex.link];
    ex.scan = null;
    editedCount();
    selectLink(ex.link);
    liveRender();
  });
  $("scan-play").addEventListener("click", toggleScan);
  $("scan-apng").addEventListener("click", () => exportScan("png"));
  $("scan-webp").addEventListener("click", () => exportScan("webp"));
  $("save-edited").addEventListener("click", saveEdited);
  $("breed-edited").addEventListener("click", breedEdited);
  $("reset-all").addEventListener("click", resetAll);
  $("graph-fit").addEventListener("click", () => { if (ex.box) setView(ex.box.slice()); });
  $("show-link-labels").addEventListener("change", () => {
    $("graph").classList.toggle("no-link-labels", !$("show-link-labels").checked);
  });
  $("graph").addEventListener("wheel", wheelZoom, { passive: false });
  $("graph").addEventListener("pointerdown", startPan);
  $("dense-delta").addEventListener("input", () => setDelta(Number($("dense-delta").value)));
  $("dense-zero").addEventListener("click", () => { $("dense-delta").value = 0; setDelta(0); });
  $("dense-file").addEventListener("change", (ev) => { importNet(ev.target.files[0]); ev.target.value = ""; });
  window.addEventListener("hashchange", route);
  const sid = new URL(location.href).searchParams.get("s") || localStorage.getItem("ferlab.session");
  if (sid) loadSession(sid);
  else if ((location.hash || "#/breed") === "#/breed") start(false);  // like Picbreeder: a screen at once
  else updateButtons();
  route();
}

init();
