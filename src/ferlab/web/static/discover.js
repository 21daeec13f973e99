// ferlab discover: what `ferlab search` found, as a map of the descriptor grid or a wall
// ordered by novelty. Any elite opens in the explorer, starts a breeding session or is published.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { run: null, selected: null };

function status(msg) { $("status").textContent = msg || ""; }

const fmt = (v, d = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

function elementFor(e) {
  const img = document.createElement("img");
  img.src = `/api/genomes/${e.genome}/thumb.png`;
  img.alt = `elite ${e.genome}`;
  img.loading = "lazy";
  img.setAttribute("data-testid", "elite");
  img.dataset.key = e.genome;
  img.title = `quality ${fmt(e.quality)} · novelty ${fmt(e.novelty)}`;
  img.addEventListener("click", () => select(e, img));
  return img;
}

function select(e, img) {
  document.querySelectorAll("img.sel").forEach((x) => x.classList.remove("sel"));
  img.classList.add("sel");
  state.selected = e;
  $("detail").hidden = false;
  $("detail-img").src = `/api/genomes/${e.genome}/image.png?res=256`;
  $("explore-elite").href = `/#/explore/${e.genome}`;
  $("detail-msg").textContent = "";
  const c = state.run.config;
  const info = [["arm", state.run.arm], [c.measures[0], fmt(e.d0)], [c.measures[1], fmt(e.d1)],
                ["quality", fmt(e.quality)], ["novelty", fmt(e.novelty)],
                ["distance to target", fmt(e.distance, 4)], ["nodes / links", `${e.nodes} / ${e.links}`]];
  const dl = $("detail-info");
  dl.replaceChildren();
  for (const [k, v] of info) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.append(dt, dd);
  }
}

function drawMap(run, grid) {
  const bins = run.config.bins;
  const map = $("map");
  map.style.gridTemplateColumns = `repeat(${bins}, 1fr)`;
  map.style.gridTemplateRows = `repeat(${bins}, 1fr)`;
  const cells = new Map(grid.map((e) => [e.cell, e]));
  const frag = document.createDocumentFragment();
  // First descriptor up the page (row bins-1 at the top), second across.
  for (let i = bins - 1; i >= 0; i--) {
    for (let j = 0; j < bins; j++) {
      const div = document.createElement("div");
      div.className = "cell";
      const e = cells.get(i * bins + j);
      if (e) div.append(elementFor(e));
      frag.append(div);
    }
  }
  map.replaceChildren(frag);
  $("axes").textContent = `up: ${run.config.measures[0]} · across: ${run.config.measures[1]} · `
    + `${grid.length} of ${bins * bins} cells filled`;
}

function drawWall(grid) {
  const sorted = [...grid].sort((a, b) => (b.novelty ?? 0) - (a.novelty ?? 0));
  $("wall").replaceChildren(...sorted.map(elementFor));
}

function layout() {
  const wall = $("layout-wall").checked;
  $("map").hidden = wall;
  $("wall").hidden = !wall;
  $("axes").hidden = wall;
}

async function showRun(key) {
  const run = await api("GET", `/api/discover/runs/${key}`);
  state.run = run;
  const grid = run.elites.filter((e) => e.kind === "grid");
  const s = run.summary;
  $("summary").textContent = `${run.arm} · seed ${run.seed} · ${run.evals} evaluations · coverage `
    + `${fmt(s.coverage)} · mean pairwise ${fmt(s.measures.mean_pairwise)}`
    + (s.best_distance !== null ? ` · best distance ${fmt(s.best_distance, 4)}` : "");
  drawMap(run, grid);
  drawWall(grid);
  layout();
  $("detail").hidden = true;
}

async function main() {
  const { runs } = await api("GET", "/api/discover/runs");
  if (!runs.length) { $("empty").hidden = false; return; }
  const sel = $("run");
  for (const r of runs) {
    const o = document.createElement("option");
    o.value = r.key;
    o.textContent = `${r.arm} · seed ${r.seed} · ${r.evals} evals · coverage ${fmt(r.summary.coverage)}`;
    sel.append(o);
  }
  const want = new URL(location.href).searchParams.get("run");
  if (want && runs.some((r) => r.key === want)) sel.value = want;
  sel.addEventListener("change", () => showRun(sel.value).catch((e) => status(e.message)));
  await showRun(sel.value);
}

$("layout-map").addEventListener("change", layout);
$("layout-wall").addEventListener("change", layout);

$("breed-elite").addEventListener("click", async () => {
  if (!state.selected) return;
  try {
    status("Starting a breeding session…");
    const s = await api("POST", "/api/discover/breed", { genome: state.selected.genome });
    localStorage.setItem("ferlab.session", s.session);
    location.href = `/?s=${encodeURIComponent(s.session)}#/breed`;
  } catch (e) { status(e.message); }
});

$("publish-elite").addEventListener("click", async () => {
  if (!state.selected) return;
  const title = $("elite-title").value.trim();
  if (!title) { $("detail-msg").textContent = "Give it a title first."; return; }
  try {
    const img = await api("POST", "/api/discover/publish", { genome: state.selected.genome, title });
    const a = document.createElement("a");
    a.href = `/#/image/${img.id}`;
    a.textContent = `Published as image ${img.id}`;
    a.setAttribute("data-testid", "published-link");
    $("detail-msg").replaceChildren(a);
  } catch (e) { $("detail-msg").textContent = e.message; }
});

main().catch((e) => status(e.message));
