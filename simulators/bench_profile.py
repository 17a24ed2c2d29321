"""Summarise a py-spy `--format raw` profile (what `WATCHPOST_BENCH_PROFILE=DIR` records).

`python -m simulators.bench_profile DIR/storm-4000.txt [--top 25] [--match hub.]` prints, for
the whole recording: samples per thread, then the functions with the most samples on top of
the stack (self) and anywhere in the stack (inclusive), as % of the *busy* samples: stacks that
end waiting (a pool thread waiting for work, `Condition.wait`, the loop's `select`) are left
out, so the shares say where the hub's threads spend the time they run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

IDLE = (
    "_worker (concurrent/futures/thread.py:81)",
    "Condition.wait (threading.py:327)",
    "EpollSelector.select (selectors.py:468)",
)
"""Leaf frames of a thread that waits."""


def load(path: Path) -> list[tuple[list[str], int]]:
    """Return (frames root→leaf, samples) per collapsed stack line."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summary(stacks: list[tuple[list[str], int]], top: int, match: str) -> str:
    """Return the text report."""
    everything = sum(n for _, n in stacks)
    stacks = [(frames, n) for frames, n in stacks if frames[-1] not in IDLE]
    total = sum(n for _, n in stacks) or 1
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, n in stacks:
        threads[frames[0]] += n
        own[frames[-1]] += n
        for frame in set(frames[1:]):
            if match in frame:
                inclusive[frame] += n
    lines = [f"{total:,} busy samples (of {everything:,})"]
    lines += [f"  {100 * n / total:5.1f} %  {t}" for t, n in threads.most_common(8)]
    lines.append("self (top of stack):")
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines.append(f"inclusive (frames containing {match!r}):" if match else "inclusive:")
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the summary of one profile."""
    parser = argparse.ArgumentParser(prog="python -m simulators.bench_profile")
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="")
    args = parser.parse_args(argv)
    print(summary(load(args.profile), args.top, args.match))  # noqa: T201 - a CLI report
    return 0


if __name__ == "__main__":
    sys.exit(main())
