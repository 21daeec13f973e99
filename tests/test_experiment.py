"""ferlab experiment: config -> cells, same table on a process pool and a local Ray, resume
after Ctrl-C, failed cells recorded, bad configs as one-line errors."""
from __future__ import annotations

import importlib.util
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ferlab import save_genome
from ferlab.cli import main
from ferlab.dense import DenseCPPN
from ferlab.train import STATUSES
from ferlab.experiment import (ConfigError, ProcessPool, RayExecutor, parse_plan, read_rows,
                               run_experiment, status_report)
from genomes import tiny

ROOT = Path(__file__).resolve().parents[1]
TIMING = {"wall_s", "finished", "host", "time.train", "time.metrics"}

CONFIG = """
[experiment]
name = "tiny"
genomes = [{genomes}]
seeds = [0, 1]

[train]
recipe = "fast"
steps = 40
res = 32
batch = 256

[metrics]
res = 32
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """Two small genomes (grey, two hidden nodes and one; replicas of both draw something
    after 40 steps, so every metric is defined), a broken file, and
    a compile cache shared by the module's runs (it changes speed, not results)."""
    d = tmp_path_factory.mktemp("grid")
    save_genome(tiny(links=(("x", "h0", 1.5), ("y", "h0", -0.7), ("h0", "ink", 1.0),
                            ("d", "h1", 2.0), ("h1", "ink", 0.5)),
                     acts={"h0": "sin", "h1": "gaussian"}), d / "g1.xml")
    save_genome(tiny(links=(("y", "h0", 2.0), ("x", "h0", 1.0), ("h0", "ink", 1.0))),
                d / "g2.xml")
    (d / "broken.xml").write_text("<data><genome>")
    (d / "good.toml").write_text(CONFIG.format(genomes='"g*.xml"'))
    (d / "with_broken.toml").write_text(CONFIG.format(genomes='"g1.xml", "broken.xml", "g2.xml"'))
    # More cells than can finish between the first row and Ctrl-C.
    (d / "longer.toml").write_text(CONFIG.format(genomes='"g*.xml"').replace(
        "seeds = [0, 1]", "seeds = [0, 1, 2, 3]"))
    (d / "cache").mkdir()
    return d


def comparable(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


# ------------------------------------------------------------------------------- the plan
def test_plan_hash_is_a_function_of_content_seed_and_settings(grid, tmp_path):
    plan = parse_plan((grid / "good.toml").read_text(), base=grid)
    assert [(c.genome, c.seed) for c in plan.cells] == [("g1", 0), ("g1", 1), ("g2", 0), ("g2", 1)]
    assert len({c.hash for c in plan.cells}) == 4
    # A renamed copy of a file is the same cell; another order of settings is the same cell.
    shutil.copy(grid / "g1.xml", tmp_path / "renamed.xml")
    text = CONFIG.format(genomes='"renamed.xml"').replace('recipe = "fast"\nsteps = 40',
                                                         'steps = 40\nrecipe = "fast"')
    other = parse_plan(text, base=tmp_path)
    assert [c.hash for c in other.cells] == [c.hash for c in plan.cells[:2]]
    # Any setting that can change a result changes the hash; the whole recipe is in the cell.
    changed = parse_plan(text.replace("steps = 40", "steps = 41"), base=tmp_path)
    assert not {c.hash for c in changed.cells} & {c.hash for c in plan.cells}
    assert dict(plan.cells[0].steps)["train"]["recipe"]["steps"] == 40
    # Grid axes multiply cells; a duplicated file (two globs) counts once.
    gridded = parse_plan(CONFIG.format(genomes='"g1.xml", "g*.xml"')
                         + '[grid]\n"train.lr" = [0.01, 0.02]\n"metrics.res" = [16, 32]\n', base=grid)
    assert len(gridded.cells) == 2 * 2 * 4
    assert gridded.axes == ("train.lr", "metrics.res")
    # Two files with one name are told apart by their folder.
    (tmp_path / "other").mkdir()
    shutil.copy(grid / "g2.xml", tmp_path / "other" / "renamed.xml")
    both = parse_plan(CONFIG.format(genomes='"renamed.xml", "other/renamed.xml"'), base=tmp_path)
    assert {c.genome for c in both.cells} == {f"{tmp_path.name}/renamed", "other/renamed"}
    assert {tuple(sorted(c.vary.items())) for c in gridded.cells} == {
        (("metrics.res", r), ("train.lr", lr)) for r in (16, 32) for lr in (0.01, 0.02)}


BAD_CONFIGS = [
    ("[experiment\n", "not valid TOML"),
    ("[train]\n", "missing [experiment]"),
    ('[experiment]\ngenomes = ["g1.xml"]\n', "no steps"),
    ('[experiment]\ngenomes = []\n[metrics]\n', "non-empty list"),
    ('[experiment]\ngenomes = ["nope/*.xml"]\n[metrics]\n', "matches no file"),
    ('[experiment]\ngenomes = ["missing.xml"]\n[metrics]\n', "is not a file"),
    ('[experiment]\ngenomes = ["g1.xml"]\nseeds = [1, 1]\n[metrics]\n', "duplicates"),
    ('[experiment]\ngenomes = ["g1.xml"]\nseeds = ["a"]\n[metrics]\n', "seeds must be"),
    ('[experiment]\ngenomes = ["g1.xml"]\ncolour = 1\n[metrics]\n', "unknown setting 'colour'"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[trian]\n', "unknown section [trian]"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\nrecipe = "slow"\n', "unknown recipe 'slow'"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\nsteps = "many"\n', "steps must be an integer"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\nlr = -1\n', "learning rate"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\nlr = nan\n', "lr must be finite"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\narch = "3;zap:2"\n', "zap"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[metrics]\nres = 2\n', "res must be 8..256"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[search]\narm = "hill"\n', "unknown arm 'hill'"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[search]\nbudget = 0\n', "budget must be"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[metrics]\n[grid]\n"train.lr" = [0.1]\n', "no [train] step"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\n[grid]\n"train.lr" = 0.1\n', "non-empty list"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\n[grid]\n"train.wd" = [1]\n', "no setting 'wd'"),
    ('[experiment]\ngenomes = ["g1.xml"]\n[train]\n[grid]\n"train.steps" = [10, -3]\n', "steps"),
]


@pytest.mark.parametrize("text,expected", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_is_one_line_error(grid, text, expected):
    with pytest.raises(ConfigError) as e:
        parse_plan(text, base=grid)
    assert expected in str(e.value)
    assert "\n" not in str(e.value)


def test_cli_bad_config_exits_2_with_one_line_and_writes_nothing(grid, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[experiment]\ngenomes = ["*.nothing"]\n[metrics]\n')
    out = tmp_path / "out"
    assert main(["experiment", str(cfg), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ferlab experiment: error:") and "matches no file" in err
    assert len(err.splitlines()) == 1 and not out.exists()
    assert main(["experiment", str(grid / "good.toml")]) == 2  # no -o
    # A cluster address nobody answers at is one line, not Ray's endless retries.
    if importlib.util.find_spec("ray") is not None:
        assert main(["experiment", str(grid / "good.toml"), "-o", str(out), "--ray",
                     "127.0.0.1:1"]) == 2
        assert "no Ray cluster answers at 127.0.0.1:1" in capsys.readouterr().err
    assert main(["experiment", "--status", str(tmp_path)]) == 2  # not an experiment folder
    assert "not an experiment folder" in capsys.readouterr().err


def test_one_run_per_folder(grid, tmp_path):
    import fcntl

    plan = parse_plan((grid / "good.toml").read_text(), base=grid)
    with open(tmp_path / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="in use by another"):
            run_experiment(plan, tmp_path, ProcessPool(1), progress=False)
    assert not (tmp_path / "results.sqlite").exists()


def test_run_cell_keeps_warnings_and_names_unexpected_errors(grid, monkeypatch):
    """In-process (steps registered here exist only in this process)."""
    import warnings

    from ferlab.experiment import STEPS, Step
    from ferlab.experiment.cell import run_cell

    def noisy(ctx, s):
        warnings.warn("overflow encountered in multiply", RuntimeWarning)
        return {"n_nodes": len(ctx.genome.nodes)}

    def buggy(ctx, s):
        return {"x": 1 / 0}

    monkeypatch.setitem(STEPS, "noisy", Step("noisy", noisy, defaults={}))
    monkeypatch.setitem(STEPS, "buggy", Step("buggy", buggy, defaults={}))
    cell = parse_plan((grid / "good.toml").read_text(), base=grid).cells[0]
    data = (grid / "g1.xml").read_bytes()
    row = run_cell({**cell.to_dict(), "steps": [["noisy", {}]]}, data)
    assert row["status"] == "ok" and row["figures"] == {"noisy.n_nodes": 7}
    assert row["warnings"] == "1: RuntimeWarning: overflow encountered in multiply"
    row = run_cell({**cell.to_dict(), "steps": [["noisy", {}], ["buggy", {}]]}, data)
    assert row["status"] == "failed" and row["error"] == "buggy: ZeroDivisionError: division by zero"
    row = run_cell(cell.to_dict(), data + b" ")  # the file changed after planning
    assert row["status"] == "failed" and "changed since the plan was made" in row["error"]


def test_search_step_runs_an_arm_towards_the_genome(grid):
    from ferlab.experiment.cell import run_cell

    text = CONFIG.format(genomes='"g1.xml"').split("[train]")[0] + (
        '[search]\narm = "target"\nbudget = 64\nres = 32\nbatch = 32\n'
        '[grid]\n"search.arm" = ["target", "random"]\n')
    plan = parse_plan(text, base=grid)
    assert len(plan.cells) == 4
    data = (grid / "g1.xml").read_bytes()
    rows = {(c.seed, c.vary["search.arm"]): run_cell(c.to_dict(), data) for c in plan.cells}
    for row in rows.values():
        assert row["status"] == "ok", row["error"]
        f = row["figures"]
        assert f["search.evals"] >= 64 and 0 < f["search.coverage"] <= 1
        assert 0 <= f["search.best_distance"] < 1
    # Seeded: the same cell twice is the same row; another seed searches elsewhere.
    again = run_cell(plan.cells[0].to_dict(), data)
    assert again["figures"] == rows[(plan.cells[0].seed, plan.cells[0].vary["search.arm"])]["figures"]
    assert rows[(0, "random")]["figures"] != rows[(1, "random")]["figures"]


def test_adapt_step_probes_both_networks(grid):
    from ferlab.experiment.cell import run_cell
    from ferlab.experiment.summary import render_summary

    text = (CONFIG.format(genomes='"g1.xml"').split("[metrics]")[0]
            + "[adapt]\nn = 4\nres = 32\n[grid]\n\"adapt.radius\" = [0.05, 0.5]\n")
    plan = parse_plan(text, base=grid)
    cell = next(c for c in plan.cells if c.seed == 0 and c.vary["adapt.radius"] == 0.5)
    row = run_cell(cell.to_dict(), (grid / "g1.xml").read_bytes())
    assert row["status"] == "ok", row["error"]
    for side in ("evolved", "sgd"):
        assert 0 <= row["figures"][f"adapt.{side}.coherent_fraction"] <= 1
        assert row["figures"][f"adapt.{side}.diversity_all"] >= 0
    flat = {**{k: v for k, v in row.items() if k not in ("figures", "timings")},
            **row["figures"], **row["timings"]}
    # Three evolved-vs-SGD plots (one per adapt figure) and the training MSE plot.
    assert render_summary([flat], 1, "t").count("data:image/png;base64,") == 4


# ------------------------------------------------------------------- running the grid
@pytest.fixture(scope="module")
def pool_run(grid, tmp_path_factory):
    from ferlab.experiment import load_plan

    out = tmp_path_factory.mktemp("pool")
    plan = load_plan(grid / "with_broken.toml")
    with ProcessPool(2, compile_cache=grid / "cache") as ex:
        summary = run_experiment(plan, out, ex, progress=False)
    return plan, out, summary


def test_failed_cell_is_recorded_and_the_rest_finish(pool_run):
    plan, out, s = pool_run
    assert (s.planned, s.ran, s.failed, s.skipped) == (6, 6, 2, 0)
    rows = read_rows(out / "results.sqlite")
    assert {r["hash"] for r in rows} == {c.hash for c in plan.cells}
    bad = [r for r in rows if r["status"] == "failed"]
    assert sorted(r["genome"] for r in bad) == ["broken", "broken"]
    for r in bad:
        assert r["error"].startswith("genome: malformed XML") and "\n" not in r["error"]
        assert r["metrics.sgd.fer_score"] is None
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4
    for r in ok:
        assert r["error"] is None and r["train.steps"] == 40 and r["time.train"] > 0
        assert r["train.status"] in STATUSES and r["train.attempts"] >= 1
        for side in ("evolved", "sgd"):
            assert 0.0 <= r[f"metrics.{side}.fer_score"] <= 1.0
        assert math.isfinite(r["train.final_mse"]) and r["train.final_mse"] < 0.5
        # The replica is kept and is what was measured.
        net = DenseCPPN.load(out / "cells" / r["hash"] / "replica.npz")
        assert str(net.arch) == r["train.arch"]
    # Seeds differ in the SGD replica, not in what is being replicated.
    g1 = sorted((r for r in ok if r["genome"] == "g1"), key=lambda r: r["seed"])
    assert g1[0]["train.final_mse"] != g1[1]["train.final_mse"]
    st = status_report(out)
    assert (st["planned"], st["ok"], st["failed"], st["missing"]) == (6, 4, 2, 0)
    assert st["per_genome"]["broken"] == {"ok": 0, "failed": 2, "missing": 0}
    # The summary is self-contained: plots inline, failures listed, no external requests.
    page = (out / "summary.html").read_text()
    assert page.count("data:image/png;base64,") >= 2 and "fer_score" in page
    assert "malformed XML" in page and "http://" not in page and "https://" not in page
    assert 'id="training"' in page
    assert len((out / "results.csv").read_text().strip().splitlines()) == 1 + 6


def test_ray_local_gives_the_same_table(grid, pool_run, tmp_path):
    if os.environ.get("CI") != "true":  # CI installs the ray extra (make test): must run there
        pytest.importorskip("ray")
    plan, pool_out, _ = pool_run
    with RayExecutor(None, workers=2, compile_cache=grid / "cache") as ex:
        tmp = ex._tmp
        assert Path(tmp).is_dir() and ex.slots == 2
        import ray

        # Every Ray server of a local run listens on the loopback address only.
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        assert ray._private.worker._global_node.node_ip_address == "127.0.0.1"
        # ... and its workers run at the pool's priority, not Ray's default nice 15.
        assert ray.get(ray.remote(lambda: os.getpriority(os.PRIO_PROCESS, 0)).remote()) == \
            os.getpriority(os.PRIO_PROCESS, 0)
        s = run_experiment(plan, tmp_path, ex, progress=False)
    assert not Path(tmp).exists()  # Ray's temp files are gone
    assert (s.ran, s.failed) == (6, 2)
    assert comparable(read_rows(tmp_path / "results.sqlite")) == comparable(
        read_rows(pool_out / "results.sqlite"))
    for r in read_rows(tmp_path / "results.sqlite"):
        if r["status"] == "ok":
            a = np.load(tmp_path / "cells" / r["hash"] / "replica.npz")
            b = np.load(pool_out / "cells" / r["hash"] / "replica.npz")
            assert all(np.array_equal(a[k], b[k]) for k in a.files)


def _rows(db: Path) -> dict:
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return {h: (s, f) for h, s, f in con.execute("SELECT hash, status, finished FROM cells")}
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


def test_ctrl_c_then_resume_runs_only_missing_cells(grid, pool_run, tmp_path):
    _, pool_out, _ = pool_run
    out = tmp_path / "exp"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "ferlab", "experiment", str(grid / "longer.toml"), "-o", str(out),
           "--workers", "1", "-q", "--compile-cache", str(grid / "cache")]  # (speed only)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while not _rows(out / "results.sqlite") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole terminal process group
    _, err = proc.communicate(timeout=60)
    before = _rows(out / "results.sqlite")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert 1 <= len(before) < 8 and all(s == "ok" for s, _ in before.values())

    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{8 - len(before)} cells run (0 failed), {len(before)} already done" in res.stdout
    after = _rows(out / "results.sqlite")
    assert len(after) == 8
    assert all(after[h] == before[h] for h in before)  # done rows untouched
    # Interrupted-and-resumed equals straight through.
    ref = {r["hash"]: r for r in comparable(read_rows(pool_out / "results.sqlite"))}
    both = [r for r in comparable(read_rows(out / "results.sqlite")) if r["hash"] in ref]
    assert len(both) == 4 and all(r == ref[r["hash"]] for r in both)

    res = subprocess.run([sys.executable, "-m", "ferlab", "experiment", "--status", str(out)],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "8 of 8 cells done, 0 failed, 0 missing" in res.stdout
