"""What the evaluation scripts share: reading a labelled JSON Lines set, grouping, tables."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def load(path: Path, split: str) -> list[dict[str, Any]]:
    """The items of `split` (any split name the set uses: "dev", "holdout", "blind", "fresh"…;
    or "all") of a JSON Lines set."""
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                item = json.loads(line)
                if split == "all" or item.get("split", "dev") == split:
                    items.append(item)
    return items


def grouped(outcomes: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    """`outcomes` by `key`, in order of first appearance."""
    groups: dict[str, list[T]] = defaultdict(list)
    for outcome in outcomes:
        groups[key(outcome)].append(outcome)
    return groups


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class Printer:
    """Plain aligned tables on a terminal, or Markdown tables to paste into the README."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown

    def heading(self, text: str) -> None:
        print(f"\n### {text}\n" if self.markdown else f"\n== {text} ==")

    def line(self, text: str = "") -> None:
        print(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(c) for c in row] for row in rows]
        if self.markdown:
            print("| " + " | ".join(headers) + " |")
            print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
            for row in cells:
                print("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
            return
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        print(
            "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(headers, widths, strict=True))
            )
        )
        for row in cells:
            print(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
