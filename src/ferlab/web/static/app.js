// ferlab breed: plain JS over the JSON API. Views are chosen by the URL hash; the session id
// lives in the query string (?s=...) and in localStorage, so a reload or a server restart
// resumes where you were.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { session: null, data: null, selected: new Set(), busy: false,
                view: { key: null, window: [-1, 1, -1, 1], image: null } };

function status(msg, ok = false) {
  const el = $("status");
  el.textContent = msg || "";
  el.className = ok ? "ok" : "";
}

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

async function busy(label, fn) {
  if (state.busy) return;
  state.busy = true;
  document.body.classList.add("busy");
  status(label + "…", true);
  try {
    await fn();
    status("");
  } catch (e) {
    status(e.message);
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
    updateButtons();
  }
}

const thumb = (key) => `/api/genomes/${key}/thumb.png`;

// ------------------------------------------------------------------------------- session
function setSession(data) {
  state.data = data;
  state.session = data.session;
  state.selected.clear();
  localStorage.setItem("ferlab.session", data.session);
  const url = new URL(location.href);
  if (url.searchParams.get("s") !== data.session) {
    url.searchParams.set("s", data.session);
    history.replaceState(null, "", url);
  }
  renderBreed();
}

function renderBreed() {
  const d = state.data;
  const grid = $("grid");
  grid.innerHTML = "";
  if (!d) { updateButtons(); return; }
  $("generation").textContent = `Generation ${d.screen.generation}`;
  $("strength").value = d.screen.strength;
  $("strength-val").textContent = Number(d.screen.strength).toFixed(2);
  d.screen.genomes.forEach((g, i) => {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.key = g.key;
    tile.dataset.testid = "tile";
    tile.setAttribute("data-testid", "tile");
    tile.title = `${g.nodes} nodes, ${g.links} links`;
    const img = document.createElement("img");
    img.src = thumb(g.key);
    img.alt = `child ${i + 1}`;
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
    open.addEventListener("click", (ev) => { ev.stopPropagation(); location.hash = `#/genome/${g.key}`; });
    tile.appendChild(open);
    tile.addEventListener("click", () => {
      if (state.selected.has(g.key)) state.selected.delete(g.key); else state.selected.add(g.key);
      tile.classList.toggle("selected", state.selected.has(g.key));
      updateButtons();
    });
    grid.appendChild(tile);
  });
  const hist = $("history");
  hist.innerHTML = "";
  d.history.forEach((h) => {
    const b = document.createElement("button");
    b.textContent = `gen ${h.generation}`;
    b.dataset.screen = h.screen;
    if (h.screen === d.screen.id) b.className = "current";
    b.addEventListener("click", () => goBack(h.screen));
    hist.appendChild(b);
  });
  updateButtons();
}

function updateButtons() {
  const has = !!state.data;
  $("evolve").disabled = state.busy || !has || state.selected.size === 0;
  $("back").disabled = state.busy || !has || !state.data.screen.prev;
  $("publish").disabled = state.busy || !has || state.selected.size !== 1;
}

async function loadSession(sid) {
  try {
    setSession(await api("GET", `/api/sessions/${encodeURIComponent(sid)}`));
  } catch (e) {
    localStorage.removeItem("ferlab.session");
    status(`Could not resume session: ${e.message}`);
  }
}

function start(colour) {
  busy("Starting", async () => setSession(await api("POST", "/api/sessions", { start: "scratch", colour })));
}

function evolve() {
  const d = state.data;
  const parents = d.screen.genomes.map((g) => g.key).filter((k) => state.selected.has(k));
  const strength = Number($("strength").value);
  busy("Breeding", async () => {
    setSession(await api("POST", `/api/sessions/${d.session}/evolve`, { screen: d.screen.id, parents, strength }));
  });
}

function goBack(screen) {
  const d = state.data;
  if (!d) return;
  if (screen === undefined) screen = d.screen.prev;
  if (!screen) return;
  busy("Going back", async () => setSession(await api("POST", `/api/sessions/${d.session}/back`, { screen })));
}

function publish() {
  const d = state.data;
  const [key] = [...state.selected];
  const title = $("title").value.trim();
  if (!title) { status("Give the image a title first"); return; }
  busy("Publishing", async () => {
    const img = await api("POST", `/api/sessions/${d.session}/publish`, { genome: key, title });
    $("publish-msg").textContent = `Published as image #${img.id}` + (img.parent ? ` (parent #${img.parent})` : "");
    $("title").value = "";
    setSession(await api("GET", `/api/sessions/${d.session}`));
  });
}

function importFile(file) {
  if (!file) return;
  busy("Importing", async () => {
    const name = encodeURIComponent(file.name.replace(/\.[^.]*$/, ""));
    setSession(await api("POST", `/api/sessions/import?name=${name}`, file));
    location.hash = "#/breed";
  });
}

// ------------------------------------------------------------------------------- gallery
function card(img, size) {
  const c = document.createElement("div");
  c.className = "card";
  c.setAttribute("data-testid", "card");
  c.dataset.image = img.id;
  c.innerHTML = `<img alt=""><div class="t"></div>`;
  c.querySelector("img").src = thumb(img.key);
  c.querySelector(".t").textContent = `#${img.id} ${img.title}`;
  c.title = img.title;
  c.addEventListener("click", () => { location.hash = `#/image/${img.id}`; });
  return c;
}

async function showGallery() {
  const g = await api("GET", "/api/gallery?limit=200");
  const grid = $("gallery-grid");
  grid.innerHTML = "";
  g.images.forEach((img) => grid.appendChild(card(img)));
  $("gallery-empty").hidden = g.images.length > 0;
}

// --------------------------------------------------------------------------- large image
function bigUrl(res) {
  const w = state.view.window.map((v) => +v.toPrecision(8)).join(",");
  return `/api/genomes/${state.view.key}/image.png?res=${res}&window=${w}`;
}

function refreshBig() {
  $("big").src = bigUrl(512);
  $("window-text").textContent = state.view.window.map((v) => v.toFixed(4)).join(", ");
  $("dl-png").href = bigUrl($("res").value) + "&download=1";
}

async function showGenome(key, imageId) {
  state.view.key = key;
  state.view.window = [-1, 1, -1, 1];
  state.view.image = imageId || null;
  const info = await api("GET", `/api/genomes/${key}`);
  if (!imageId && info.image) state.view.image = imageId = info.image;
  $("image-title").textContent = info.title ? `#${info.image} ${info.title}` : "Unpublished genome";
  $("genome-facts").textContent = `${info.nodes} nodes, ${info.links} links, ` +
    (info.colour ? "colour" : "greyscale") + (info.id ? `, id ${info.id}` : "");
  $("dl-xml").href = `/api/genomes/${key}/genome.xml`;
  $("explore-link").href = `#/explore/${key}`;
  $("branch").hidden = !imageId;
  refreshBig();
  const lin = $("lineage");
  lin.hidden = !imageId;
  if (imageId) {
    const im = await api("GET", `/api/gallery/${imageId}`);
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
  busy("Branching", async () => {
    setSession(await api("POST", "/api/sessions", { start: "image", image: state.view.image }));
    location.hash = "#/breed";
  });
}

// ------------------------------------------------------------------------------- explore
const ex = { key: null, graph: null, weights: {}, link: null, inflight: false, pending: false };

async function showExplore(key) {
  ex.key = key; ex.weights = {}; ex.link = null;
  $("explore-name").textContent = key;
  $("link-panel").hidden = true;
  const [graph, maps] = await Promise.all([api("GET", `/api/genomes/${key}/graph`),
                                           api("GET", `/api/genomes/${key}/nodes?res=40`)]);
  ex.graph = graph;
  drawGraph(graph, maps);
  liveRender();
}

function drawGraph(graph, maps) {
  const svg = $("graph");
  const NS = "http://www.w3.org/2000/svg";
  const colW = 110, rowH = 66, size = 40;
  const pos = {};
  let rows = 1;
  graph.nodes.forEach((n) => {
    pos[n.id] = { x: 20 + n.depth * colW, y: 20 + n.row * rowH };
    rows = Math.max(rows, n.row + 1);
  });
  svg.setAttribute("width", 40 + graph.columns * colW);
  svg.setAttribute("height", 40 + rows * rowH);
  svg.innerHTML = "";
  graph.links.forEach((l) => {
    const a = pos[l.source], b = pos[l.target];
    const x1 = a.x + size, y1 = a.y + size / 2, x2 = b.x, y2 = b.y + size / 2;
    const mx = (x1 + x2) / 2;
    const d = x2 > x1 ? `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`
                      : `M${x1},${y1} C${x1 + 60},${y1 - 40} ${x2 - 60},${y2 - 40} ${x2},${y2}`;
    const hit = document.createElementNS(NS, "path");
    hit.setAttribute("d", d);
    hit.setAttribute("class", "hit");
    hit.setAttribute("data-testid", "link");
    hit.dataset.link = l.id;
    hit.addEventListener("click", () => selectLink(l.id));
    const vis = document.createElementNS(NS, "path");
    vis.setAttribute("d", d);
    vis.setAttribute("class", "link");
    vis.dataset.link = l.id;
    vis.style.stroke = l.weight >= 0 ? "#2a6fdb" : "#d33";
    vis.style.strokeWidth = 0.5 + Math.min(Math.abs(l.weight), 3);
    vis.style.pointerEvents = "none";
    const title = document.createElementNS(NS, "title");
    title.textContent = `${l.id}: ${l.weight.toFixed(3)}${l.text ? " — " + l.text : ""}`;
    hit.appendChild(title);
    svg.appendChild(hit);
    svg.appendChild(vis);
  });
  graph.nodes.forEach((n) => {
    const p = pos[n.id];
    const im = document.createElementNS(NS, "image");
    im.setAttribute("x", p.x); im.setAttribute("y", p.y);
    im.setAttribute("width", size); im.setAttribute("height", size);
    im.setAttribute("href", maps[n.id] || "");
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", p.x); t.setAttribute("y", p.y + size + 11);
    t.textContent = (n.label || n.activation) + (n.label ? "" : "");
    const title = document.createElementNS(NS, "title");
    title.textContent = `${n.id} ${n.kind} ${n.activation}${n.text ? " — " + n.text : ""}`;
    im.appendChild(title);
    svg.appendChild(im);
    svg.appendChild(t);
  });
}

function linkWeight(id) {
  if (id in ex.weights) return ex.weights[id];
  return ex.graph.links.find((l) => l.id === id).weight;
}

function selectLink(id) {
  ex.link = id;
  document.querySelectorAll("#graph .link").forEach((p) => p.classList.toggle("selected", p.dataset.link === id));
  const l = ex.graph.links.find((x) => x.id === id);
  $("link-panel").hidden = false;
  $("link-id").textContent = id;
  // CPPN-X genomes carry the researchers' name for what this link controls: show it.
  $("link-ends").textContent = `${l.source} → ${l.target}${l.text ? " · “" + l.text + "”" : ""}`;
  const w = linkWeight(id);
  $("weight").value = w;
  $("weight-val").textContent = w.toFixed(2);
  sweep();
}

function sweep() {
  if (!ex.link) return;
  // The strip sweeps the stored genome's weight: it shows what this one link does.
  $("sweep").src = `/api/genomes/${ex.key}/sweep?link=${encodeURIComponent(ex.link)}&res=96`;
}

async function liveRender() {
  // One request in flight; the latest slider position wins.
  if (ex.inflight) { ex.pending = true; return; }
  ex.inflight = true;
  try {
    const r = await api("POST", `/api/genomes/${ex.key}/render`, { weights: ex.weights, res: 256 }, true);
    const blob = await r.blob();
    const old = $("live").src;
    $("live").src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  } catch (e) {
    status(e.message);
  } finally {
    ex.inflight = false;
    if (ex.pending) { ex.pending = false; liveRender(); }
  }
}

// -------------------------------------------------------------------------------- routing
async function route() {
  const parts = (location.hash || "#/breed").slice(2).split("/");
  const view = parts[0] || "breed";
  const show = { breed: "view-breed", gallery: "view-gallery", image: "view-image",
                 genome: "view-image", explore: "view-explore" }[view] || "view-breed";
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== show; });
  $("tab-breed").classList.toggle("active", show === "view-breed");
  $("tab-gallery").classList.toggle("active", show === "view-gallery" || view === "image");
  try {
    if (view === "gallery") await showGallery();
    else if (view === "image") {
      const im = await api("GET", `/api/gallery/${encodeURIComponent(parts[1])}`);
      await showGenome(im.key, im.id);
    } else if (view === "genome") await showGenome(parts[1]);
    else if (view === "explore") await showExplore(parts[1]);
  } catch (e) {
    status(e.message);
  }
}

function init() {
  $("new-grey").addEventListener("click", () => start(false));
  $("new-colour").addEventListener("click", () => start(true));
  $("evolve").addEventListener("click", evolve);
  $("back").addEventListener("click", () => goBack());
  $("publish").addEventListener("click", publish);
  $("import-file").addEventListener("change", (ev) => { importFile(ev.target.files[0]); ev.target.value = ""; });
  $("strength").addEventListener("input", () => { $("strength-val").textContent = Number($("strength").value).toFixed(2); });
  $("big").addEventListener("click", zoom);
  $("zoom-reset").addEventListener("click", () => { state.view.window = [-1, 1, -1, 1]; refreshBig(); });
  $("res").addEventListener("change", refreshBig);
  $("branch").addEventListener("click", branch);
  $("weight").addEventListener("input", () => {
    const w = Number($("weight").value);
    ex.weights[ex.link] = w;
    $("weight-val").textContent = w.toFixed(2);
    liveRender();
  });
  $("weight-reset").addEventListener("click", () => {
    delete ex.weights[ex.link];
    selectLink(ex.link);
    liveRender();
  });
  window.addEventListener("hashchange", route);
  const sid = new URL(location.href).searchParams.get("s") || localStorage.getItem("ferlab.session");
  if (sid) loadSession(sid);
  else if ((location.hash || "#/breed") === "#/breed") start(false);  // like Picbreeder: a screen at once
  else updateButtons();
  route();
}

init();
