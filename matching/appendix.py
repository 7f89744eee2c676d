"""CITES Appendices as listings write them ("I", "II", "I/II", "III/NC"…), and their order.

A split listing counts as its most protective part: "I/II" is I, because some populations
are in Appendix I and a listing rarely says which. "NC" (not covered) ranks below III.
"""

from __future__ import annotations

from collections.abc import Iterable

RANKS = {"I": 1, "II": 2, "III": 3}


def highest_appendix(appendices: Iterable[str]) -> str | None:
    """The most protective Appendix among `appendices`: "I" beats "II" beats "III".

    Values outside I/II/III (such as "NC") are ignored; None when nothing is left.
    """
    best: int | None = None
    for appendix in appendices:
        for part in appendix.split("/"):
            level = RANKS.get(part.strip().upper())
            if level is not None and (best is None or level < best):
                best = level
    return None if best is None else "I" * best
