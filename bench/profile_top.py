"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): ``python bench/profile_top.py FILE``.

Prints the share of samples in which each function is on the stack (inclusive) and on top of it
(self), so a profile can be read, compared and quoted in docs/benchmarks.md as text.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--filter", default="", help="only stacks containing this text (e.g. a view name)")
    args = parser.parse_args()

    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        if args.filter and args.filter not in stack:
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        total += count
        for name in set(frames):
            inclusive[name] += count
        self_time[frames[-1]] += count
    print(f"{total} samples")
    print("inclusive %  self %  function")
    for name, count in inclusive.most_common(args.top):
        print(f"{100 * count / total:10.1f}  {100 * self_time[name] / total:6.1f}  {name}")
    print("\ntop self time")
    for name, count in self_time.most_common(args.top // 2):
        print(f"{100 * count / total:6.1f}  {name}")


if __name__ == "__main__":
    main()
