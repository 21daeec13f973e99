"""Analysis speed: sweep sheets, ``ferlab metrics`` and the compare report.

Targets: the skull genome's 57 links × 5 frames at 256² in ≤ 0.5 s after compilation;
5,478 weights × 5 frames at 128² in ≤ 60 s on a 2-core machine (issue 4); ``ferlab metrics``
≤ 2 s per paper-sized network, the whole command (issue 9); the compare report of a
paper-sized pair at default settings ≤ 30 s and ≤ 5 MiB (issue 9); ``ferlab sweep skull.zip
-o s.png``, the whole command, ≤ 2 s (issue 10); ``ferlab sweep sgd_skull.npz --all --res 128
-o frames.npz``, the whole command streamed to disk, ≤ 60 s and ≤ 1.5 GB peak RSS (issue 10);
the frames file's compression (stored, deflate 1, deflate 6) on a slice. Prints wall times;
the cores may be shared with other work, so the load average is printed too.

    .venv/bin/python benchmarks/sweep_speed.py [--shared ../shared] [--quick]
        [--only cli,all,npz,metrics,report,sheets]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("FERLAB_SHARED", ROOT.parent / "shared"))
    ap.add_argument("--quick", action="store_true", help="SGD sheet on 1/8 of the weights")
    ap.add_argument("--dense-res", type=int, default=128)
    ap.add_argument("--only", default="cli,all,npz,sheets,metrics,report",
                    help="comma-separated parts to run")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    shared = Path(args.shared)
    if not (shared / "reference").is_dir():
        print(f"shared data not found at {shared} (set FERLAB_SHARED)", file=sys.stderr)
        return 2

    from ferlab.files import load_any
    from ferlab.picbreeder import load_genome
    from ferlab.sweep import DenseSweeper, deltas, iter_dense_sweep, resolve_weights, sweep_genome

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    if "cli" in parts:
        cli_sweep_speed(shared)
    if "all" in parts:
        cli_sweep_all(shared)
    if "npz" in parts:
        npz_compression(shared)
    if "metrics" in parts:
        metrics_speed(shared)
    if "report" in parts:
        report_speed(shared)
    if "sheets" not in parts:
        return 0

    skull = load_genome(shared / "picbreeder/fer/skull.zip")
    t = time.perf_counter()
    sheet = sweep_genome(skull, res=256)
    cold = time.perf_counter() - t
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        sheet = sweep_genome(skull, res=256)
        runs.append(time.perf_counter() - t)
    n = sheet.frames.shape[0] * sheet.frames.shape[1]
    print(f"skull genome, all {sheet.frames.shape[0]} links x 5 frames at 256²: {n} frames, "
          f"first call {cold:.2f} s, then best {min(runs):.3f} s "
          f"({1e3 * min(runs) / n:.2f} ms/frame)  [target <= 0.5 s]")

    sgd = load_any(shared / "reference/sgd_skull.npz")
    lrcs = resolve_weights(sgd, all_weights=True)
    if args.quick:
        lrcs = lrcs[::8]
    res = args.dense_res
    offs = deltas()
    t = time.perf_counter()
    sw = DenseSweeper(sgd, res)
    changed = np.zeros(len(lrcs))
    frames = 0
    for a, chunk in iter_dense_sweep(sgd, lrcs, offs, sweeper=sw, progress=sys.stderr.isatty()):
        # Reduce as we go: the full sheet would be 27k frames (5 GB as float32).
        changed[a:a + len(chunk)] = np.abs(chunk - sw.base).max(axis=(1, 2, 3, 4))
        frames += chunk.shape[0] * chunk.shape[1]
    took = time.perf_counter() - t
    print(f"SGD skull, {len(lrcs)} weights x 5 frames at {res}²: {frames} frames in {took:.1f} s "
          f"(compile included; {1e3 * took / frames:.2f} ms/frame); "
          f"{(changed >= 1 / 64).mean():.1%} of weights change the image  "
          f"[target <= 60 s for all 5,478]")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


#: The whole `ferlab sweep skull.zip -o s.png` before issue 10 moved it off JAX and pyplot,
#: measured like below (best of 3; wall s, CPU s, peak RSS MiB) on the loaded 2-core machine:
#: 2.38 s wall, 7.0 s on its first (cold) run, 9.5-16 s on other occasions.
CLI_SWEEP_BEFORE = (2.38, 2.07, 478)


def timed_cli(*args: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of `ferlab ARGS` in a fresh process, under /usr/bin/time -v."""
    import re
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "ferlab", *args]
    err = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stderr

    def field(name):
        return re.search(rf"{name}.*?: (\S+)", err).group(1)

    wall = sum(60 ** i * float(v) for i, v in enumerate(reversed(field("Elapsed").split(":"))))
    cpu = float(field("User time")) + float(field("System time"))
    return wall, cpu, int(field("Maximum resident set size")) / 1024


def cli_sweep_speed(shared: Path) -> None:
    """`ferlab sweep GENOME -o s.png` as a user runs it, under /usr/bin/time -v."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        runs = [timed_cli("sweep", str(shared / "picbreeder/fer/skull.zip"), "-o", str(Path(tmp) / "s.png"))
                for _ in range(3)]
    wall, cpu, rss = min(runs)
    bw, bc, br = CLI_SWEEP_BEFORE
    print(f"ferlab sweep skull.zip -o s.png (57 links x 5 at 64², whole command, best of 3): "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MiB peak RSS; before: {bw:.1f} s wall, "
          f"{bc:.1f} s CPU, {br:.0f} MiB  [target <= 2 s]")


#: `ferlab sweep sgd_skull.npz --all --res 128 -o frames.npz` before issue 10 (the issue's
#: figures: every frame held in memory, then savez_compressed; loaded machine): wall s, peak GB.
SWEEP_ALL_BEFORE = ((229, 444), 11)


def cli_sweep_all(shared: Path) -> None:
    """Every weight of the SGD skull at 128², streamed to a .npz, as a user runs it."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # beside the repo: /tmp may be small
        out = Path(tmp) / "frames.npz"
        wall, cpu, rss = timed_cli("sweep", str(shared / "reference/sgd_skull.npz"), "--all",
                                   "--res", "128", "-o", str(out))
        size = out.stat().st_size / 2**30
    (lo, hi), gb = SWEEP_ALL_BEFORE
    print(f"ferlab sweep sgd_skull.npz --all --res 128 -o frames.npz (5,478 weights x 5 frames, whole "
          f"command): {wall:.1f} s wall, {cpu:.1f} s CPU, {rss / 1024:.2f} GiB peak RSS, file "
          f"{size:.2f} GiB; before: {lo}-{hi} s, {gb} GB  [target <= 60 s, <= 1.5 GB]")


def npz_compression(shared: Path, every: int = 8) -> None:
    """The frames file stored vs deflated, on every ``every``-th weight of the SGD skull at 128²:
    the writer's wall and CPU time (frames computed beforehand) and the file size."""
    import tempfile

    from ferlab.files import load_any
    from ferlab.io import write_npz
    from ferlab.sweep import stream

    sgd = load_any(shared / "reference/sgd_skull.npz")
    st = stream(sgd, flat=list(range(0, sgd.arch.n_params, every)), res=128)
    frames = np.empty(st.shape, np.float32)
    for a, chunk in st.chunks:
        frames[a:a + len(chunk)] = chunk
    step = 32
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        for level, name in ((None, "stored"), (1, "deflate 1"), (6, "deflate 6 (savez_compressed's)")):
            t, cpu = time.perf_counter(), time.process_time()
            with write_npz(Path(tmp) / "f.npz", level=level) as npz:
                with npz.array("frames", frames.shape, np.float32) as w:
                    for a in range(0, len(frames), step):
                        w.write(frames[a:a + step])
            took, cpu = time.perf_counter() - t, time.process_time() - cpu
            size = (Path(tmp) / "f.npz").stat().st_size
            print(f"frames file, {name:30s}: {frames.nbytes / 2**20:6.0f} MiB of frames -> "
                  f"{size / 2**20:6.0f} MiB ({size / frames.nbytes:.0%}) in {took:.1f} s wall, "
                  f"{cpu:.1f} s CPU ({frames.nbytes / 2**20 / took:.0f} MiB/s)")


def metrics_speed(shared: Path) -> None:
    """`ferlab metrics NET` as a user runs it (fresh process, warm baseline cache), and the
    library call alone."""
    import subprocess
    import tempfile

    from ferlab.files import load_any
    from ferlab.metrics import fer_metrics

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "baselines.json")
        for name in ("picbreeder_skull", "sgd_skull", "picbreeder_butterfly", "sgd_butterfly"):
            path = shared / f"reference/{name}.npz"
            cmd = [sys.executable, "-m", "ferlab", "metrics", str(path), "--json", "--baseline-cache", cache]
            t = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)  # fills the baseline cache
            cold = time.perf_counter() - t
            t = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            warm = time.perf_counter() - t
            net = load_any(path)
            t = time.perf_counter()
            fer_metrics(net)
            lib = time.perf_counter() - t
            print(f"ferlab metrics {name:22s} {warm:5.2f} s (first run, computing the random baseline: "
                  f"{cold:5.2f} s; fer_metrics alone {lib:.2f} s)  [target <= 2 s]")


def report_speed(shared: Path) -> None:
    from ferlab.files import load_any
    from ferlab.report import compare_report_with_timings

    import tempfile

    for image in ("skull", "butterfly"):
        a = load_any(shared / f"reference/picbreeder_{image}.npz")
        b = load_any(shared / f"reference/sgd_{image}.npz")
        with tempfile.TemporaryDirectory() as tmp:
            t, cpu = time.perf_counter(), time.process_time()
            path, stages = compare_report_with_timings(a, b, Path(tmp) / "r.html")
            took, cpu = time.perf_counter() - t, time.process_time() - cpu
            size = path.stat().st_size / 2**20
        slow = ", ".join(f"{k} {v:.1f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:3])
        print(f"compare report, paper {image} pair at defaults: {took:.1f} s wall, {cpu:.1f} s CPU, {size:.2f} MiB "
              f"(slowest stages, s: {slow})  [target <= 30 s, <= 5 MiB]")


if __name__ == "__main__":
    sys.exit(main())
