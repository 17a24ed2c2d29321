"""Draw each dashboard as a PNG from its JSON and the data its queries return (matplotlib).

Not Grafana's renderer: a picture of the same grid (positions and sizes from `gridPos`), each
panel's title and type, and its queries' answers drawn the way the panel type shows them
(time series, bars, stat, gauge, bar gauge, table), targets as dashed lines. Chinese text
needs a CJK font: WenQuanYi Micro Hei (Debian's fonts-wqy-microhei).

Without `--influx` a throwaway influxd is started and filled with `dashboards.scenario`.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import matplotlib as mpl

mpl.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle, Wedge

from dashboards.boards import DASHBOARDS
from dashboards.macros import ALL, Range, interval, parse_relative
from dashboards.panels import JSON

log = logging.getLogger(__name__)
CJK_FONTS = ["WenQuanYi Micro Hei", "DejaVu Sans"]
BG, PANEL, TEXT, MUTED, GRID = "#111217", "#181b1f", "#d8d9da", "#8e8e9a", "#2c3235"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff", "#fade2a"]
STEP_COLORS = {"green": "#73bf69", "red": "#f2495c", "yellow": "#f2cc0c"}
COL_W, ROW_H, DPI = 0.8, 0.3, 100  # inches per grid unit (Grafana: 1/24 of ~1920 px, 30 px)
Query = Callable[[str], list[Any]]


@dataclass
class Series:
    """One named series as Grafana would label it."""

    name: str
    times: list[datetime]
    values: list[float | None]

    def last(self) -> float | None:
        """Return the last non-null value."""
        return next((v for v in reversed(self.values) if v is not None), None)


def _style() -> None:
    mpl.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": CJK_FONTS,
            "axes.unicode_minus": False,
            "text.color": TEXT,
            "axes.labelcolor": MUTED,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "axes.edgecolor": GRID,
        }
    )


def _name(alias: str | None, measurement: str, column: str, tags: dict[str, str]) -> str:
    if not alias:
        return f"{measurement}.{column}" + (f" {tags}" if tags else "")
    out = re.sub(r"\$tag_(\w+)", lambda m: tags.get(m.group(1), ""), alias)
    return out.replace("$col", column).replace("$m", measurement)


def _renamed(panel: JSON, name: str) -> str:
    for t in panel.get("transformations", []):
        pattern = re.sub(r"\$(\d)", r"\\\1", t["options"]["renamePattern"])  # JS → Python
        name = re.sub(t["options"]["regex"], pattern, name)
    return name


def series_of(panel: JSON, query: Query) -> list[Series]:
    """Run the panel's targets; return one Series per (series, column), named as in Grafana."""
    out = []
    for t in panel["targets"]:
        for s in query(t["query"]):
            times = [datetime.fromisoformat(v[0].replace("Z", "+00:00")) for v in s["values"]]
            for i, column in enumerate(s["columns"][1:], start=1):
                name = _name(t.get("alias"), s["name"], column, s.get("tags") or {})
                values = [v[i] if isinstance(v[i], int | float) else None for v in s["values"]]
                out.append(Series(_renamed(panel, name), times, values))
    return out


def _steps(panel: JSON) -> list[tuple[float, str]]:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    return [(s["value"], STEP_COLORS.get(s["color"], s["color"])) for s in steps]


def _color_for(panel: JSON, value: float | None, fallback: str) -> str:
    color = fallback
    for limit, step_color in _steps(panel):
        if limit is None or (value is not None and value >= limit):
            color = step_color
    return color


def _unit(panel: JSON) -> str:
    unit: str = panel["fieldConfig"]["defaults"].get("unit", "")
    if unit.startswith("suffix:"):
        return unit[len("suffix:") :]
    return {"percent": "%", "s": " s", "percentunit": "", "celsius": " °C"}.get(unit, "")


def _fmt(panel: JSON, value: float | None) -> str:
    if value is None:
        return "–"
    whole = abs(value - round(value)) < 0.05 or abs(value) >= 100
    return (f"{value:.0f}" if whole else f"{value:.2f}") + _unit(panel)


def _num(ts: datetime) -> float:
    """Return matplotlib's date number (days since its epoch) of a datetime."""
    return float(mdates.date2num(ts))  # type: ignore[no-untyped-call]


def _timeseries(
    ax: Axes,
    panel: JSON,
    data: list[Series],
    marks: list[datetime],
    span: tuple[datetime, datetime],
) -> None:
    custom = panel["fieldConfig"]["defaults"].get("custom", {})
    draw = custom.get("drawStyle", "line")
    least = parse_relative(panel.get("interval", "10s")).total_seconds()
    step = parse_relative(interval(span[0], span[1], minimum_s=int(least)))
    fixed = re.search(r"time\((\d+[smhdw])\)", panel["targets"][0]["query"])
    if fixed:  # GROUP BY time(1h), time(1d): a fixed bucket instead of $__interval
        step = parse_relative(fixed.group(1))
    step = max(step, (span[1] - span[0]) / 200)  # Grafana keeps thin bars a few pixels wide
    stacked = custom.get("stacking", {}).get("mode") == "normal"
    bottom: dict[datetime, float] = {}
    for i, s in enumerate(data[:12]):
        color = COLORS[i % len(COLORS)]
        pts = [(t, v) for t, v in zip(s.times, s.values, strict=True) if v is not None]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        if draw == "bars":
            under = [bottom.get(x, 0.0) if stacked else 0.0 for x in xs]
            ax.bar(
                xs,
                ys,
                width=step.total_seconds() / 86400 * 0.8,
                bottom=under,
                color=color,
                label=s.name,
                align="edge",
            )
            for x, y in pts:
                bottom[x] = bottom.get(x, 0.0) + y
        elif draw == "points":
            ax.scatter(xs, ys, s=30, color=color, label=s.name, zorder=3)
        else:
            ax.plot(xs, ys, color=color, linewidth=1.2, label=s.name)
    for limit, color in _steps(panel):
        if limit is not None:
            ax.axhline(limit, color=color, linestyle="--", linewidth=1.2)
    for mark in marks if "timeFrom" not in panel else []:
        ax.axvline(_num(mark), color="#f2495c", alpha=0.25, linewidth=0.8)
    ax.set_xlim(_num(span[0]), _num(span[1]))
    ax.xaxis.set_major_formatter(
        mdates.DateFormatter(  # type: ignore[no-untyped-call]
            "%m-%d" if "timeFrom" in panel else "%H:%M"
        )
    )
    ax.grid(color=GRID, linewidth=0.5)
    ax.tick_params(labelsize=7)
    if data:
        ax.legend(
            fontsize=6.5, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=6, frameon=False,
            labelcolor=TEXT, borderaxespad=0.1,
        )  # fmt: skip


def _stat(ax: Axes, panel: JSON, data: list[Series]) -> None:
    ax.axis("off")
    items = [(s.name, s.last()) for s in data][:8]
    for i, (name, value) in enumerate(items):
        x0, w = i / max(len(items), 1), 1 / max(len(items), 1)
        color = _color_for(panel, value, "#1f60c4")
        ax.add_patch(Rectangle((x0 + 0.01, 0.05), w - 0.02, 0.9, color=color, alpha=0.85))
        ax.text(x0 + w / 2, 0.55, _fmt(panel, value), ha="center", va="center", fontsize=15)
        if panel["options"].get("textMode") != "value":
            ax.text(x0 + w / 2, 0.2, name, ha="center", va="center", fontsize=8)


def _gauge(ax: Axes, panel: JSON, data: list[Series]) -> None:
    ax.axis("off")
    ax.set_xlim(0, len(data) or 1)
    ax.set_ylim(0, 1)
    for i, s in enumerate(data[:4]):
        value = s.last() or 0.0
        center = (i + 0.5, 0.3)
        ax.add_patch(Wedge(center, 0.42, 0, 180, width=0.12, color=GRID))
        color = _color_for(panel, value, COLORS[0])
        ax.add_patch(Wedge(center, 0.42, 180 - 1.8 * min(value, 100), 180, width=0.12, color=color))
        ax.text(*center, _fmt(panel, value), ha="center", va="bottom", fontsize=13)
        ax.text(center[0], 0.12, s.name, ha="center", va="center", fontsize=8)
    ax.set_aspect("equal")


def _bargauge(ax: Axes, panel: JSON, data: list[Series]) -> None:
    items = [(s.name, s.last() or 0.0) for s in data][:10][::-1]
    names = [n for n, _ in items]
    values = [v for _, v in items]
    colors = [_color_for(panel, v, COLORS[2]) for v in values]
    ax.barh(names, values, color=colors, height=0.6)
    for y, v in enumerate(values):
        ax.text(v, y, " " + _fmt(panel, v), va="center", fontsize=8)
    for limit, color in _steps(panel):
        if limit is not None:
            ax.axvline(limit, color=color, linestyle="--", linewidth=1.2)
    ax.tick_params(labelsize=7)
    ax.set_xlim(0, max([*values, *(s for s, _ in _steps(panel) if s)], default=1) * 1.25)
    ax.grid(axis="x", color=GRID, linewidth=0.5)


def _table(ax: Axes, panel: JSON, query: Query) -> None:
    ax.axis("off")
    rows: list[list[str]] = []
    header: list[str] = []
    mappings = panel["fieldConfig"]["defaults"].get("mappings", [])
    names = {k: v["text"] for m in mappings for k, v in m["options"].items() if "text" in v}
    for t in panel["targets"]:
        for s in query(t["query"]):
            tags = s.get("tags") or {}
            header = [*tags, *s["columns"][1:]]
            for v in s["values"]:
                cells = [*tags.values(), *v[1:]]
                rows.append([names.get(str(c), _cell(c)) for c in cells])
    shown = max(1, int(panel["gridPos"]["h"]) - 2)
    if not rows:
        return
    table = ax.table(
        cellText=rows[:shown], colLabels=header, loc="upper left", cellLoc="left",
        colLoc="left", edges="horizontal",
    )  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (row, _), cell in table.get_celld().items():
        cell.set_facecolor(PANEL)
        cell.set_edgecolor(GRID)
        cell.get_text().set_color(MUTED if row == 0 else TEXT)
        cell.set_height(1 / (shown + 1))
    if len(rows) > shown:
        ax.text(1, -0.04, f"{shown} / {len(rows)}", fontsize=7, color=MUTED, ha="right",
                transform=ax.transAxes)  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value == round(value) else f"{value:.2f}"
    return str(value)


def draw(board: JSON, run: Callable[[str], list[Any]], rng: Range, path: Path) -> list[str]:
    """Draw one dashboard into `path`; return the titles of panels that had no data.

    `run` executes one expanded InfluxQL query and returns its series.
    """
    empty: list[str] = []
    _style()
    panels = board["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    head = 0.7
    width, height = 24 * COL_W, rows * ROW_H + head
    fig = plt.figure(figsize=(width, height), dpi=DPI, facecolor=BG)
    fig.text(0.008, 1 - 0.3 / height, board["title"], fontsize=16, va="center", weight="bold")
    fig.text(0.25, 1 - 0.3 / height, board["description"], fontsize=9, va="center", color=MUTED)
    marks = _marks(board, run, rng)
    for panel in panels:
        pos = panel["gridPos"]
        left, w = pos["x"] * COL_W / width, pos["w"] * COL_W / width
        top = 1 - (head + pos["y"] * ROW_H) / height
        h = pos["h"] * ROW_H / height
        frame = fig.add_axes((left + 0.002, top - h + 0.004, w - 0.004, h - 0.008))
        frame.set_facecolor(PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(GRID)
        frame.text(0.012, 0.955, panel["title"], transform=frame.transAxes, fontsize=10,
                   va="top", weight="bold")  # fmt: skip
        frame.text(0.988, 0.955, panel["type"], transform=frame.transAxes, fontsize=7,
                   va="top", ha="right", color=MUTED)  # fmt: skip
        table = panel["type"] == "table"
        box = (0.02, 0.04, 0.96, 0.8) if table else (0.07, 0.12, 0.88, 0.62)
        inner = fig.add_axes((left + w * box[0], top - h + h * box[1], w * box[2], h * box[3]))
        inner.set_facecolor(PANEL)

        def query(text: str, panel: JSON = panel) -> list[Any]:
            found = run(rng.expand(text, panel.get("timeFrom"), panel.get("interval")))
            if not found:
                empty.append(panel["title"])
            return found

        kind = panel["type"]
        if kind == "table":
            _table(inner, panel, query)
            continue
        data = series_of(panel, query)
        if kind == "timeseries":
            length = parse_relative(panel["timeFrom"]) if "timeFrom" in panel else rng.length
            _timeseries(inner, panel, data, marks, (rng.end - length, rng.end))
        elif kind == "stat":
            _stat(inner, panel, data)
        elif kind == "gauge":
            _gauge(inner, panel, data)
        else:
            _bargauge(inner, panel, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, facecolor=BG)
    plt.close(fig)
    return empty


def _marks(board: JSON, run: Callable[[str], list[Any]], rng: Range) -> list[datetime]:
    marks = []
    for note in board["annotations"]["list"]:
        for s in run(rng.expand(note["query"])):
            marks += [datetime.fromisoformat(v[0].replace("Z", "+00:00")) for v in s["values"]]
    return marks


def influx_runner(url: str, database: str) -> Callable[[str], list[Any]]:
    """Return a function running one InfluxQL query against InfluxDB 1.x's /query."""

    def run(query: str) -> list[Any]:
        resp = httpx.post(f"{url}/query", data={"q": query, "db": database}, timeout=30)
        resp.raise_for_status()
        (result,) = resp.json()["results"]
        if "error" in result:
            raise RuntimeError(f"{result['error']}: {query}")
        series: list[Any] = result.get("series", [])
        return series

    return run


@contextmanager
def scenario_influx(site: str) -> Iterator[tuple[str, str, datetime]]:
    """Start a throwaway influxd holding the scenario; yield (url, database, end)."""
    from dashboards.scenario import scenario_lines
    from simulators.services import Influxd

    with tempfile.TemporaryDirectory(prefix="watchpost-render-") as tmp, Influxd(Path(tmp)) as srv:
        srv.create_database("watchpost")
        end = datetime.now(UTC)
        lines = scenario_lines(site, end)
        for start in range(0, len(lines), 5000):
            httpx.post(
                f"{srv.url}/write",
                params={"db": "watchpost", "precision": "ms"},
                content="\n".join(lines[start : start + 5000]).encode(),
                timeout=30,
            ).raise_for_status()
        yield srv.url, "watchpost", end


def render_all(
    lang: str, out: Path, *, influx: str | None = None, database: str = "watchpost",
    site: str = "sunny-gardens", hours: int = 6,
) -> list[Path]:  # fmt: skip
    """Draw every dashboard in `lang` into out/dashboards-<name>[-en].png; return the paths."""
    suffix = "" if lang == "zh-CN" else f"-{lang}"

    def draw_all(url: str, db: str, end: datetime) -> list[Path]:
        rng = Range(end, timedelta(hours=hours), {"site": site, "grid": ALL, "device": ALL,
                                                  "hub": ALL})  # fmt: skip
        run = influx_runner(url, db)
        paths = []
        for name, build in DASHBOARDS.items():
            path = out / f"dashboards-{name}{suffix}.png"
            empty = draw(build(lang), run, rng, path)
            if empty:
                log.warning("%s: no data for %s", path.name, ", ".join(empty))
            paths.append(path)
        return paths

    if influx:
        return draw_all(influx.rstrip("/"), database, datetime.now(UTC))
    with scenario_influx(site) as (url, db, end):
        return draw_all(url, db, end)
