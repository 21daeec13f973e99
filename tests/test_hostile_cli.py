"""The hostile corpus for the command line: every case is one line on stderr, exit 2, no
traceback, and every file that existed before is byte-for-byte unchanged (no 0-byte leftovers).

Cases are grouped by class of bad input (broken archives, numbers out of range, sizes past
the limits, unusable output paths, corrupt checkpoints, failing disks), not by the instances
a campaign happened to find.
"""
from __future__ import annotations

import errno
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from ferlab.cli import main
from ferlab.demo import demo_genome_path
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome, save_genome
from ferlab.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from hostile_inputs import (chain, fingerprint, np_bytes, npy_claiming, npz_claiming, png_claiming,
                            small_json, small_xml, zipped)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder holding one good genome, one good dense network and one existing output."""
    monkeypatch.chdir(tmp_path)
    g = load_genome(demo_genome_path())
    save_genome(g, tmp_path / "good.json")
    layerize(g).save(tmp_path / "good.npz")
    (tmp_path / "keep.png").write_bytes(b"an existing output that must survive")
    return tmp_path


def _fails_cleanly(argv, capsys, folder, fragment=""):
    before = fingerprint(folder)
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ferlab {argv[0]}: error:"), err
    assert fragment.lower() in lines[0].lower(), err
    assert fingerprint(folder) == before  # nothing written, nothing replaced, no temp files
    return lines[0]


def _write(folder, name, data):
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ------------------------------------------------------------------------------ bad archives
ARCHIVES = {
    "encrypted zip": (lambda: zipped(small_xml().encode(), flag=1), "g.zip", "encrypted"),
    "AES zip": (lambda: zipped(small_xml().encode(), method=99), "g.zip", "compression method"),
    "implode zip": (lambda: zipped(small_xml().encode(), method=6), "g.zip", "compression method"),
    "truncated zip": (lambda: zipped(small_xml().encode())[:40], "g.zip", "zip"),
    "truncated npz": (lambda: None, "t.npz", "npz"),
    "npz claiming 37 GiB": (lambda: npz_claiming((10_000_000_000,)), "big.npz", "claims"),
    "npz of pickles": (lambda: npz_claiming((3,), "|O"), "obj.npz", "objects"),
    "400-digit weight (xml)": (lambda: small_xml().replace("<weight>0.5</weight>", "<weight>" + "9" * 400 + "</weight>"),
                               "w.xml", "weight"),
    "400-digit weight (json)": (lambda: json.dumps({**small_json(), "links": [
        {**small_json()["links"][0], "weight": int("9" * 400)}]}), "w.json", ""),
    "gene branch 2^63-2": (lambda: small_xml().replace('branch="1"', f'branch="{2**63 - 2}"'), "b.xml", "out of range"),
    "negative gene id": (lambda: small_xml().replace('branch="1"', 'branch="-5"'), "n.xml", "out of range"),
    "bookends of 2 numbers": (lambda: json.dumps({**small_json(), "links": [
        {**small_json()["links"][0], "bookends": [0.0, 1.0]}] + small_json()["links"][1:]}), "be.json", "bookends"),
    "button colour of 2": (lambda: json.dumps({**small_json(), "buttons": [
        {"id": 1, "text": "t", "color": [1, 2]}]}), "bc.json", "colour"),
    "weight 1e300": (lambda: small_xml().replace("<weight>0.5</weight>", "<weight>1e300</weight>"), "h.xml", "weight"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
@pytest.mark.parametrize("command", ["info", "render"])
def test_bad_files_are_one_line(work, capsys, case, command):
    make, name, fragment = ARCHIVES[case]
    data = make()
    if data is None:  # a real .npz cut in half
        data = (work / "good.npz").read_bytes()[:300]
    path = _write(work, name, data)
    argv = [command, path] + (["-o", work / "keep.png"] if command == "render" else [])
    _fails_cleanly(argv, capsys, work, fragment)


def test_info_of_an_endless_file_stops_at_the_limit(capsys, tmp_path):
    _fails_cleanly(["info", "/dev/zero"], capsys, tmp_path, "limit")


def test_image_targets_past_the_size_limit(work, capsys):
    for w, h, frag in ((20000, 20000, "too large"), (5000, 5000, "limit")):
        path = _write(work, f"big{w}.png", png_claiming(w, h))
        _fails_cleanly(["train", path, "-o", work / "run", "--steps", "2", "-q"], capsys, work, frag)


# --------------------------------------------------------------------- numbers out of range
@pytest.mark.parametrize("argv,fragment", [
    (["sweep", "good.json", "-o", "s.png", "--seed", "18446744073709551616", "--random", "1"], "seed"),
    (["train", "good.json", "-o", "run", "--seed", "-1"], "seed"),
    (["sweep", "good.json", "-o", "s.png", "--count", str(2**70)], "out of range"),
    (["render", "good.json", "--res", "99999999999999999999999", "-o", "keep.png"], "out of range"),
    (["sweep", "good.json", "-o", "s.png", "--span", "inf"], "span"),
    (["train", "good.json", "-o", "run", "--arch", "256;sin:4096", "--steps", "2"], "at most"),
])
def test_numbers_out_of_range(work, capsys, argv, fragment):
    _fails_cleanly(argv, capsys, work, fragment)


# ----------------------------------------------------------------- work past the documented limits
def test_costs_are_estimated_before_any_work(work, capsys, monkeypatch):
    import ferlab.render
    import ferlab.sweep

    def boom(*a, **k):
        raise AssertionError("computed before the cost check")

    monkeypatch.setattr(ferlab.render, "render_genome", boom)
    monkeypatch.setattr(ferlab.sweep, "sweep", boom)
    save_genome(chain(300), work / "chain.json")
    _fails_cleanly(["render", "chain.json", "--res", "2048", "-o", "keep.png"], capsys, work, "limit")
    _fails_cleanly(["sweep", "good.npz", "--all", "--count", "101", "--res", "256", "-o", "s.npz"],
                   capsys, work, "limit")
    save_genome(chain(1300), work / "long.json")
    _fails_cleanly(["sweep", "long.json", "--links", "2:0", "--res", "8", "-o", "s.png"], capsys, work, "compiles")
    from ferlab.dense import Arch, DenseCPPN

    arch = Arch.parse("8;sin:128")
    DenseCPPN(arch, tuple(np.full(s, 0.1, np.float32) for s in arch.kernel_shapes())).save(work / "wide.npz")
    _fails_cleanly(["metrics", "wide.npz"], capsys, work, "--no-baseline")


def test_layerize_refuses_what_info_would_refuse(work, capsys):
    save_genome(chain(300), work / "deep.json")
    _fails_cleanly(["layerize", "deep.json", "-o", "deep.npz"], capsys, work, "depth")
    assert main(["info", "deep.json", "--json"]) == 0  # still describable
    facts = json.loads(capsys.readouterr().out)
    assert facts["nodes"] == 305 and facts["layerized_arch"].startswith("none")


def test_render_tiles_large_images_to_bound_memory():
    from ferlab.cli.backbone import render_any
    from ferlab.render import render_genome

    g = load_genome(demo_genome_path())
    for shape, window in (((99, 40), None), ((100, 31), (-0.5, 0.3, -0.2, 0.9))):
        # 7 rows' worth of values per band: 15 bands, the last of one row.
        tiled = render_any(g, shape, window, max_values=len(g.nodes) * shape[1] * 7)
        np.testing.assert_allclose(tiled, render_genome(g, shape, window).image, atol=1e-12)


# ---------------------------------------------------------------------------- output paths
OUTPUTS = [
    ["render", "good.json", "-o", "{missing}/x.png"],
    ["layerize", "good.json", "-o", "{missing}/x.npz"],
    ["convert", "good.json", "-o", "{missing}/x.xml"],
    ["features", "good.json", "-o", "{missing}/x.png"],
    ["sweep", "good.json", "-o", "{missing}/x.png"],
    ["metrics", "good.json", "-o", "{missing}/x.json"],
    ["compare", "good.json", "good.npz", "-o", "{missing}/x.html"],
    ["compare", "good.json", "good.npz", "-o", "r.html", "--figures", "{missing}/figs"],
    ["train", "good.json", "-o", "{missing}/run"],
    ["demo", "-o", "{missing}/demo"],
]


@pytest.mark.parametrize("argv", OUTPUTS, ids=lambda a: "-".join(a[:1] + a[-2:-1]))
def test_one_output_rule_checked_before_any_work(work, capsys, argv):
    argv = [a.format(missing="no/such") for a in argv]
    _fails_cleanly(argv, capsys, work, "does not exist")
    assert not (work / "no").exists()


@pytest.mark.parametrize("argv", [["layerize", "good.json", "-o", "."], ["render", "good.json", "-o", "."],
                                  ["train", "good.json", "-o", "keep.png"]])
def test_outputs_of_the_wrong_kind(work, capsys, argv):
    _fails_cleanly(argv, capsys, work, "folder")


def test_a_failing_disk_never_destroys_the_old_file(work, capsys, monkeypatch):
    import ferlab.atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ferlab.atomic.os, "fsync", full)
    for argv in (["render", "good.json", "--res", "16", "-o", "keep.png"],
                 ["convert", "good.json", "-o", "keep.xml"],
                 ["features", "good.json", "--res", "8", "-o", "keep.pdf"]):
        if not (work / argv[-1]).exists():
            (work / argv[-1]).write_bytes(b"old")
        _fails_cleanly(argv, capsys, work, "disk full")


# ------------------------------------------------------------------------------- training runs
def _checkpoint(folder, **change):
    state = TrainState(step=2, kernels=[np.zeros((4, 3), np.float32), np.zeros((3, 3), np.float32)],
                       opt_leaves=[np.zeros(1, np.int32)], losses=np.ones(2, np.float32),
                       evals=np.zeros((1, 3)), snapshots={1: np.zeros((4, 4, 3), np.uint8)},
                       meta={"settings": {"seed": 0}})
    for k, v in change.items():
        setattr(state, k, v)
    return save_checkpoint(state, folder / "checkpoint.npz")


def _rewrite(path, **arrays):
    """The checkpoint at ``path`` with some arrays replaced (written as plain numpy would)."""
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(arrays)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in data.items():
            zf.writestr(f"{k}.npy", v if isinstance(v, bytes) else np_bytes(np.asarray(v)))
    path.write_bytes(buf.getvalue())


CORRUPT = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "not a zip": lambda p: p.write_bytes(b"hello"),
    "empty": lambda p: p.write_bytes(b""),
    "meta not json": lambda p: _rewrite(p, meta=np.array("{nope")),
    "meta a list": lambda p: _rewrite(p, meta=np.array("[1, 2]")),
    "kernel of strings": lambda p: _rewrite(p, kernel_0=np.array(["a", "b"])),
    "kernel of objects": lambda p: _rewrite(p, kernel_0=np_bytes(np.array([{}], dtype=object))),
    "losses shorter than step": lambda p: _rewrite(p, step=np.array(50)),
    "missing snapshot": lambda p: _rewrite(p, snapshot_steps=np.array([1, 7])),
    "array header claiming 40 GB": lambda p: _rewrite(p, losses=npy_claiming((10**10,))),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_checkpoints_are_one_clear_error(tmp_path, capsys, case):
    run = tmp_path / "run"
    path = _checkpoint(run)
    CORRUPT[case](path)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    _fails_cleanly(["train", demo_genome_path(), "-o", run, "--resume", "-q"], capsys, tmp_path)


def test_training_never_replaces_a_run_without_resume_or_force(work, capsys):
    _checkpoint(work / "run")
    _fails_cleanly(["train", "good.json", "-o", "run", "--steps", "2", "-q"], capsys, work, "--force")
    _fails_cleanly(["train", "good.json", "-o", "run", "--force", "--resume", "-q"], capsys, work, "not both")


@pytest.mark.parametrize("ref,fragment", [
    (np.array(["a", "b"]), "numeric"), (np.array([1.0, np.nan]), "nan"), (b"\x93NUMPY broken", "reference"),
    (np.zeros(0), "values"),
])
def test_bad_reference_curves_fail_before_training(work, capsys, ref, fragment):
    _write(work, "ref.npy", ref if isinstance(ref, bytes) else np_bytes(ref))
    _fails_cleanly(["train", "good.json", "-o", "run", "--steps", "2", "--reference", "ref.npy", "-q"],
                   capsys, work, fragment)
    assert not (work / "run").exists()


# ------------------------------------------------------------------------------------- serve
def test_serve_refuses_a_database_that_is_not_one(work, capsys):
    (work / "dbdir").mkdir()
    _fails_cleanly(["serve", "--db", "dbdir"], capsys, work, "folder")
    _fails_cleanly(["serve", "--db", "keep.png"], capsys, work, "database")


def test_npz_zip_bombs_are_refused_before_inflating(tmp_path):
    from ferlab.npzfile import NpzError, check_npz

    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, a=np.zeros(1_000_000, np.float32))  # 4 MB inflates from ~4 kB
    assert path.stat().st_size < 50_000
    with pytest.raises(NpzError, match="limit"):
        check_npz(path, max_bytes=1_000_000)
    check_npz(path)  # within the default limit


def test_images_written_atomically_are_complete(work):
    assert main(["render", "good.json", "--res", "12", "-o", "keep.png"]) == 0
    assert Image.open(work / "keep.png").size == (12, 12)
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


def test_a_network_whose_kernels_do_not_fit_its_arch_is_refused_before_inflating(work, capsys, monkeypatch):
    from ferlab.npzfile import CheckedNpz

    np.savez_compressed(work / "bomb.npz", arch=np.array("1;sin:2"), kernel_0=np.zeros((4, 2), np.float32),
                        kernel_1=np.zeros(20_000_000, np.uint8))  # 20 MB of zeros in ~20 kB
    read = []
    real = CheckedNpz.__getitem__
    monkeypatch.setattr(CheckedNpz, "__getitem__", lambda self, k: read.append(k) or real(self, k))
    _fails_cleanly(["info", "bomb.npz"], capsys, work, "kernel_1 has shape")
    assert read == ["arch"]  # no kernel was inflated
