"""@mentions: found where meant, never in addresses or links; resolved to units and people."""

from __future__ import annotations

from matching.mentions import Person, find_mentions, handles_of, resolve, segments

ALICE = Person(1, "Alice Martin", "alice.martin@nwcu.example", "GB")
BOB = Person(2, "Bob", "bob@douane.example", "FR")
ALEX = Person(3, "Alice Dupont", "a.dupont@douane.example", "FR")
PEOPLE = [ALICE, BOB, ALEX]
UNITS = ["GB", "FR", "DE", "COORD"]


def handles(text: str) -> list[str]:
    return [m.handle for m in find_mentions(text)]


def test_mentions_are_found_with_punctuation_around_them():
    assert handles("@GB, can you check? (@fr) and @Bob.") == ["GB", "fr", "Bob"]
    assert handles("thanks @alice.martin!") == ["alice.martin"]
    assert handles("@GB's seizure; @de-") == ["GB", "de"]
    assert handles("«@FR» and\n@GB") == ["FR", "GB"]


def test_addresses_and_links_are_not_mentions():
    assert handles("write to alice@nwcu.example or bob.smith@douane.example") == []
    assert handles("seller: https://x.com/@ivory_shop and www.tiktok.com/@seller") == []
    assert handles("@alice@example.org is an address") == []
    assert handles("@@GB is not one, nor is a+@GB") == []


def test_positions_point_at_the_handle():
    text = "Hi @GB."
    [mention] = find_mentions(text)
    assert text[mention.start : mention.end] == "@GB" and mention.key == "gb"


def test_units_resolve_case_insensitively_and_once():
    found = resolve("@gb @GB and @fr", case_units=["GB", "FR"], known_units=UNITS, people=[])
    assert found.units == ["GB", "FR"] and found.problems == []
    assert found.handles == ["gb", "fr"]


def test_a_unit_the_case_is_not_with_is_a_problem_not_a_share():
    found = resolve("@DE please look", case_units=["GB"], known_units=UNITS, people=[])
    assert found.units == []
    assert found.problems == ["not shared with DE: share it first"]


def test_people_resolve_by_email_name_then_full_name_then_unique_first_name():
    def accounts(text: str) -> list[int]:
        return resolve(text, case_units=["GB", "FR"], known_units=UNITS, people=PEOPLE).accounts

    assert accounts("@alice.martin") == [1]  # e-mail local part
    assert accounts("@AliceMartin @alice_dupont") == [1, 3]  # full name, joined
    assert accounts("@BOB") == [2]  # first and only name, e-mail name too
    assert accounts("@a.dupont") == [3]


def test_an_ambiguous_first_name_asks_for_the_email_name():
    found = resolve("@alice", case_units=["GB", "FR"], known_units=UNITS, people=PEOPLE)
    assert found.accounts == []
    assert found.problems == [
        "@alice names several people (Alice Dupont, Alice Martin): use their e-mail name"
    ]


def test_a_handle_naming_nobody_is_plain_text():
    """Officers quote sellers' handles; those must not block the comment."""
    found = resolve(
        "seller @ivory_king on Instagram", case_units=["GB"], known_units=UNITS, people=PEOPLE
    )
    assert (found.units, found.accounts, found.problems, found.handles) == ([], [], [], [])


def test_a_unit_code_wins_over_a_person_with_that_handle():
    gb_person = Person(9, "G B", "gb@example.org", "FR")
    found = resolve("@GB", case_units=["GB"], known_units=UNITS, people=[gb_person])
    assert found.units == ["GB"] and found.accounts == []


def test_handles_of_a_person():
    keys = {key for _, key in handles_of(ALICE)}
    assert {"alice.martin", "alicemartin", "alice_martin", "alice-martin", "alice"} <= keys
    assert handles_of(Person(4, "", "x@y.org")) == [(1, "x")]


def test_segments_mark_only_resolved_mentions_and_rebuild_the_text():
    text = "@GB see @ivory_king, ask @Bob."
    pieces = segments(text, ["gb", "bob"])
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, marked in pieces if marked] == ["@GB", "@Bob"]
    assert segments("", ["gb"]) == []
