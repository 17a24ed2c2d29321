"""Plot SOS → grid worker alert latency against offered load from `watchpost bench` reports.

`python -m simulators.bench_plot REPORT.json [MORE.json …] --out docs/bench-sos-latency.png`

Points (every one measured in the run that wrote the report):

* `heartbeat`: D devices' statuses (D/30 per second), p50 and p99 of the last third of the run;
* `storm`: the whole storm (2N messages) over the time the broker took to accept it;
* `hub`: telemetry floods (QoS 0) while SOS are pressed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

Point = tuple[float, float, float, str]
"""(offered msg/s, p50 ms, p99 ms, label)."""


def points(report: dict[str, Any]) -> dict[str, list[Point]]:
    """Return the plottable points per series of one report."""
    bench = report.get("benchmarks", {})
    out: dict[str, list[Point]] = {}
    beat = bench.get("heartbeat", {}).get("figures", {})
    for key, rate in beat.items():
        if key.endswith("_offered_per_s"):
            d = key.removesuffix("_offered_per_s")
            p50, p99 = beat.get(f"{d}_last_p50_ms"), beat.get(f"{d}_last_p99_ms")
            if p50 is not None and p99 is not None:
                label = f"D={int(d[1:]):,}"
                out.setdefault("heartbeat (status, QoS 1)", []).append((rate, p50, p99, label))
    storm = bench.get("storm", {}).get("figures", {})
    if "sos_p50_ms" in storm and storm.get("publish_s"):
        n = _storm_messages(bench.get("storm", {}))
        rate = n / storm["publish_s"]
        out["storm (status + test, QoS 1)"] = [
            (rate, storm["sos_p50_ms"], storm["sos_p99_ms"], f"{n:,} msgs")
        ]
    hub = bench.get("hub", {}).get("figures", {})
    for key, p99 in hub.items():
        if key.startswith("flood_") and key.endswith("_alert_p99_ms"):
            rate = float(key.split("_")[1])
            p50 = hub.get(key.replace("p99", "p50"), p99)
            out.setdefault("telemetry flood (QoS 0)", []).append((rate, p50, p99, ""))
    return out


def _storm_messages(entry: dict[str, Any]) -> int:
    title = str(entry.get("title", ""))
    digits = title.split(":", 1)[-1].split("statuses")[0].replace(",", "").strip()
    return 2 * int(digits) if digits.isdigit() else 0


def plot(series: dict[str, list[Point]], out: Path, title: str) -> None:
    """Draw p50 (dots) and p99 (crosses) per series on log-log axes; save a PNG."""
    import matplotlib  # only this command needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for (name, pts), colour in zip(sorted(series.items()), ("C0", "C1", "C2", "C3"), strict=False):
        pts = sorted(pts)
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1] for p in pts], "o-", color=colour, label=f"{name}: p50")
        ax.plot(xs, [p[2] for p in pts], "x--", color=colour, label=f"{name}: p99")
        for x, _, p99, label in pts:
            if label:
                ax.annotate(label, (x, p99), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(100, color="grey", linewidth=0.8, label="target: p99 ≤ 100 ms")
    ax.axhline(10_000, color="red", linewidth=0.8, label="GB 26875.1: 10 s to the centre")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Loads of 10²-10⁴ msg/s: matplotlib's own minor labels overlap ("3×10²4×10²"), and its
    # major ones are one or two. Plain numbers at 1-2-5 steps instead.
    low, high = ax.get_xlim()
    steps = sorted(m * 10**e for e in range(1, 7) for m in (1, 2, 5))
    ax.set_xticks([t for t in steps if low <= t <= high])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("offered load (messages/s)")
    ax.set_ylabel("SOS → grid worker alert (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Read reports, plot, write the PNG."""
    parser = argparse.ArgumentParser(prog="python -m simulators.bench_plot")
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("docs/bench-sos-latency.png"))
    args = parser.parse_args(argv)
    series: dict[str, list[Point]] = {}
    started = []
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        started.append(str(report.get("started", ""))[:16])
        for name, pts in points(report).items():
            series.setdefault(name, []).extend(pts)
    plot(series, args.out, f"watchpost bench, {', '.join(started)} UTC (2 shared cores)")
    print(f"wrote {args.out}")  # noqa: T201 - a CLI
    return 0


if __name__ == "__main__":
    sys.exit(main())
