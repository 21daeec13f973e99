"""The ferlab command: every subcommand on real files, and one-line errors for bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ferlab.cli import build_parser, main
from ferlab.dense import DenseCPPN
from ferlab.demo import demo_genome_path
from ferlab.picbreeder import load_genome
from ferlab.render import render_genome


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"info", "render", "layerize", "features", "convert", "demo"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        assert "usage: ferlab " + name in capsys.readouterr().out


def test_info_json_on_the_skull(shared, capsys):
    assert main(["info", str(shared / "picbreeder" / "cppnx" / "576_Skull.xml"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["nodes"] == 23 and facts["links"] == 57
    assert facts["layerized_arch"] == "12;cache:15,gaussian:4,identity:2,sin:1"
    assert "Mouth open close" in facts["labels"]
    assert main(["info", str(shared / "reference" / "sgd_skull.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 5478


def test_render_with_res_and_window(shared, tmp_path):
    out = tmp_path / "skull.png"
    assert main(["render", str(shared / "picbreeder" / "fer" / "skull.zip"), "--res", "64x48",
                 "--window", "-0.5,0.5,-0.5,0.5", "-o", str(out)]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (48, 64, 3)
    g = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    ref = render_genome(g, (48, 64), (-0.5, 0.5, -0.5, 0.5)).image
    assert np.abs(img / 255.0 - ref).max() < 1 / 255 + 1e-9


def test_layerize_then_render_the_npz(shared, tmp_path):
    npz = tmp_path / "skull.npz"
    assert main(["layerize", str(shared / "picbreeder" / "fer" / "skull.zip"), "-o", str(npz)]) == 0
    assert str(DenseCPPN.load(npz).arch) == "12;cache:15,gaussian:4,identity:2,sin:1"
    png = tmp_path / "dense.png"
    assert main(["render", str(npz), "--res", "32", "-o", str(png)]) == 0
    assert Image.open(png).size == (32, 32)
    # The layerized .npz keeps where each weight came from.
    net = DenseCPPN.load(npz)
    assert net.origin is not None and sum(int((o >= 0).sum()) for o in net.origin) == 57


@pytest.mark.parametrize("name,flag", [("g.json", []), ("g.xml", []), ("g.xml", ["--cppnx"])])
def test_convert_keeps_everything(shared, tmp_path, name, flag):
    from ferlab.picbreeder import same_graph
    src = shared / "picbreeder" / "cppnx" / "576_Skull.xml"
    assert main(["convert", str(src), "-o", str(tmp_path / name), *flag]) == 0
    assert same_graph(load_genome(src), load_genome(tmp_path / name))


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_features_figure(tmp_path, suffix):
    out = tmp_path / f"f{suffix}"
    assert main(["features", str(demo_genome_path()), "--res", "16", "-o", str(out)]) == 0
    head = out.read_bytes()[:5]
    assert head == (b"\x89PNG\r" if suffix == ".png" else b"%PDF-")


def test_shipped_demo_genome_is_our_own():
    g = load_genome(demo_genome_path())
    assert {n.id[0] for n in g.nodes} == {9001}
    assert g.is_colour
    img = render_genome(g, 64).image
    assert img.std() > 0.1  # a picture, not a blank
    np.testing.assert_allclose(img, img[:, ::-1], atol=1e-9)  # left-right symmetric by design


@pytest.mark.parametrize("argv,msg", [
    (["render", "missing.zip"], "cannot read"),
    (["render", "{genome}", "--res", "0"], "out of range"),
    (["render", "{genome}", "--window", "1,2,3"], "bad --window"),
    (["render", "{genome}", "--window", "1,1,0,1"], "bad window"),
    (["layerize", "{npz}"], "takes a genome"),
    (["info", "{bad}"], "malformed XML"),
    (["info", "{npz_bad}"], "cannot read"),
    (["features", "{genome}", "-o", "x.gif"], "must end in .png or .pdf"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, msg):
    bad = tmp_path / "bad.xml"
    bad.write_text("<data><genome>")
    npz_bad = tmp_path / "bad.npz"
    npz_bad.write_bytes(b"not a zip")
    npz = tmp_path / "ok.npz"
    DenseCPPN.load  # noqa: B018
    subs = {"genome": str(demo_genome_path()), "bad": str(bad), "npz": str(npz), "npz_bad": str(npz_bad)}
    argv = [a.format(**subs) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "ferlab", *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if "Platform" not in l and l.strip()]
    assert len(lines) == 1 and msg in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_quick_demo_writes_the_whole_story(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--quick"]) == 0
    printed = capsys.readouterr().out.split()
    for name in ("genome.png", "layerized.npz", "layerized-features.png", "replica/net.npz",
                 "replica/summary.json", "side-by-side.png", "report.html"):
        assert str(out / name) in printed and (out / name).stat().st_size > 0, name
    # The layerized network draws the genome's picture; the replica learned something.
    genome_img = np.asarray(Image.open(out / "genome.png"), float)
    dense_img = np.asarray(Image.open(out / "layerized.png"), float)
    assert np.abs(genome_img - dense_img).max() <= 1
    summary = json.loads((out / "replica" / "summary.json").read_text())
    assert summary["recipe"] == "fast" and summary["final_mse"] < 0.06
    html = (out / "report.html").read_text()
    assert "FER metrics" in html and "SGD replica" in html
