"""The experiment's self-contained HTML summary: plots over genomes with error bars over seeds.

Rows are grouped by (genome, grid values); each figure is shown as mean ± standard deviation
over the group's seeds. Evolved-vs-SGD pairs (``metrics.evolved.X`` / ``metrics.sgd.X``) are
drawn side by side, which is the FER paper's comparison for every genome at once.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from ferlab.atomic import write_bytes as atomic_write

#: Counts and spreads are tabled, not plotted.
NOT_PLOTTED = ("n_neurons", "random_baseline_std")
SIDES = ("evolved", "sgd")

CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-top:.6em}
img{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
td{font-variant-numeric:tabular-nums}.note{color:#666;font-size:.85em}.failed{color:#a00}
pre{background:#f6f6f6;padding:.6em;font-size:.85em;overflow:auto}
"""


def group_label(row: dict) -> str:
    vary = ", ".join(f"{k.split('.', 1)[-1]}={v}" for k, v in sorted(row["vary"].items()))
    return f"{row['genome']} ({vary})" if vary else row["genome"]


def numeric_columns(rows: list[dict]) -> list[str]:
    """Figure and timing columns holding numbers in at least one ok row."""
    names = []
    for r in rows:
        for k, v in r.items():
            if ("." in k and k not in names and isinstance(v, (int, float))
                    and not isinstance(v, bool)):
                names.append(k)
    return names


def group_stats(rows: list[dict], column: str) -> dict[str, tuple[float, float, int]]:
    """label -> (mean, sd over seeds, n) of ``column`` over ok rows (NaN-free values only)."""
    vals: dict[str, list[float]] = {}
    for r in rows:
        v = r.get(column)
        if r["status"] == "ok" and isinstance(v, (int, float)) and math.isfinite(v):
            vals.setdefault(group_label(r), []).append(float(v))
    return {g: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
            for g, v in vals.items()}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}" alt="plot">'


def _figure(labels: list[str], height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(labels) + 2), height))
    return fig, ax, np.arange(len(labels))


def _finish_axes(ax, x, labels, title):
    ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=8)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)


def _pair_plot(rows, step: str, figure: str, labels: list[str]) -> str:
    fig, ax, x = _figure(labels, 3.6)
    for i, (side, colour) in enumerate(zip(SIDES, ("#2a7", "#d52"))):
        st = group_stats(rows, f"{step}.{side}.{figure}")
        m = [st.get(g, (np.nan, 0, 0))[0] for g in labels]
        e = [st.get(g, (0, 0, 0))[1] for g in labels]
        ax.errorbar(x + (i - 0.5) * 0.2, m, yerr=e, fmt="o", capsize=3, color=colour,
                    label=f"{side} (mean ± sd over seeds)")
    ax.set_ylabel(figure)
    _finish_axes(ax, x, labels, f"{step} {figure}: evolved genome vs SGD replica")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def _single_plot(rows, column: str, labels: list[str], log: bool = False) -> str:
    st = group_stats(rows, column)
    fig, ax, x = _figure(labels, 3.2)
    m = [st.get(g, (np.nan, 0, 0))[0] for g in labels]
    e = [st.get(g, (0, 0, 0))[1] for g in labels]
    ax.errorbar(x, m, yerr=e, fmt="o", capsize=3, color="#36c")
    if log and all(v > 0 for v in m if math.isfinite(v)):
        ax.set_yscale("log")
    _finish_axes(ax, x, labels, f"{column} (mean ± sd over seeds)")
    return _png(fig)


def render_summary(rows: list[dict], planned: int, name: str, config_text: str = "") -> str:
    """The page as a string (pure: rows in, HTML out)."""
    ok = [r for r in rows if r["status"] == "ok"]
    bad = [r for r in rows if r["status"] != "ok"]
    labels = sorted({group_label(r) for r in ok})
    cols = numeric_columns(ok)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>ferlab experiment: {e(name)}</title><style>{CSS}</style></head><body>",
             f"<h1>Experiment: {e(name)}</h1>",
             f"<p>{len(ok)} of {planned} cells done, {len(bad)} failed, "
             f"{planned - len(ok) - len(bad)} not run yet. Cell time "
             f"{sum(r.get('wall_s') or 0 for r in rows):.0f} s in all.</p>"]
    if ok:
        parts.append('<section id="plots"><h2>Figures</h2>')
        from ferlab.metrics import SCORE_TERMS

        for step in ("metrics", "adapt"):  # steps that measure both networks
            paired = [f for f in ("fer_score", *SCORE_TERMS) if f"{step}.evolved.{f}" in cols]
            paired += [c.split(".", 2)[2] for c in cols
                       if c.startswith(f"{step}.evolved.") and c.split(".", 2)[2] not in paired
                       and c.split(".", 2)[2] not in NOT_PLOTTED]
            for f in paired:
                parts.append(_pair_plot(ok, step, f, labels))
        for col, log in (("train.final_mse", True), ("search.best_distance", False),
                         ("search.coverage", False)):
            if col in cols:
                parts.append(_single_plot(ok, col, labels, log=log))
        parts.append("</section>")
        parts.append('<section id="table"><h2>Per genome (mean ± sd over seeds, n)</h2><table><tr>'
                     "<th>group</th>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>")
        stats = {c: group_stats(ok, c) for c in cols}
        for g in labels:
            cells = []
            for c in cols:
                s = stats[c].get(g)
                cells.append(f"<td>{s[0]:.4g} ± {s[1]:.2g} ({s[2]})</td>" if s else "<td></td>")
            parts.append(f"<tr><th>{e(g)}</th>{''.join(cells)}</tr>")
        parts.append("</table></section>")
    if any("train.status" in r for r in ok):
        # A replica that ended dead or below target still has figures: say how many did.
        statuses = sorted({r.get("train.status") or "?" for r in ok})
        parts.append('<section id="training"><h2>Training status (cells)</h2><table><tr>'
                     "<th>group</th>" + "".join(f"<th>{e(st)}</th>" for st in statuses) + "</tr>")
        for g in labels:
            n = [sum(1 for r in ok if group_label(r) == g and (r.get("train.status") or "?") == st)
                 for st in statuses]
            parts.append(f"<tr><th>{e(g)}</th>{''.join(f'<td>{k}</td>' for k in n)}</tr>")
        parts.append("</table></section>")
    if bad:
        parts.append('<section id="failures"><h2>Failed cells</h2><table>'
                     "<tr><th>genome</th><th>seed</th><th>grid</th><th>hash</th><th>error</th></tr>")
        for r in bad:
            parts.append(f"<tr><td>{e(r['genome'])}</td><td>{r['seed']}</td>"
                         f"<td>{e(json.dumps(r['vary'], sort_keys=True))}</td><td>{e(r['hash'])}</td>"
                         f"<td class=failed>{e(str(r['error']))}</td></tr>")
        parts.append("</table></section>")
    if config_text:
        parts.append(f'<section id="config"><h2>Config</h2><pre>{e(config_text)}</pre></section>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_summary(rows: list[dict], planned: int, name: str, path, config_text: str = "") -> Path:
    return atomic_write(path, render_summary(rows, planned, name, config_text).encode())
