"""What issue 3 promises of `wildflag analyze`: the listings traders write, read right."""

from __future__ import annotations

import json

from tests.helpers import run_wildflag


def test_analyze_reads_a_german_compound_and_ignores_an_ivory_blouse(tmp_path):
    lines = [
        {"id": "scales", "text": "Pangolinschuppen 500 g"},
        {"id": "blouse", "text": "Ivory silk blouse, size S"},
    ]
    result = run_wildflag(
        "analyze", data_dir=tmp_path, stdin="\n".join(json.dumps(x) for x in lines) + "\n"
    )
    assert result.returncode == 0, result.stderr
    scales, blouse = (json.loads(line) for line in result.stdout.splitlines())
    assert scales["flagged"] is True and scales["priority"] == "critical"
    [match] = [m for m in scales["species"] if m["family"] == "Manidae"]
    assert match["appendix"] == "I" and match["order"] == "Pholidota"
    assert match["class"] == "Mammalia"
    assert blouse["flagged"] is False and blouse["species"] == []
    [overruled] = blouse["overruled"]
    assert overruled["taxon"] == "Elephantidae" and overruled["reason"]
