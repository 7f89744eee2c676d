"""`wildflag units channel add/list/remove`: a unit's delivery channels from the CLI."""

from __future__ import annotations

import json

from tests.helpers import run_wildflag

HOOK = "https://nwcu.example.org/hook"


def test_units_channel_add_list_remove(tmp_path):
    added = run_wildflag(
        "units", "channel", "add", "gb", "--type", "webhook",
        "--target", "https://nwcu.example.org/hook", data_dir=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert added.stdout == secret + "\n" and len(secret) >= 32  # generated, printed alone

    noop = run_wildflag(
        "units", "channel", "add", "GB", "--type", "noop", "--target", "demo",
        "--secret", "given", data_dir=tmp_path,
    )  # fmt: skip
    assert noop.returncode == 0, noop.stderr
    assert noop.stdout == ""  # a given secret is not echoed

    listed = run_wildflag("units", "channel", "list", "GB", "--json", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"index": 0, "type": "webhook", "target": HOOK, "secret": secret},
        {"index": 1, "type": "noop", "target": "demo", "secret": "given"},
    ]
    plain = run_wildflag("units", "channel", "list", "GB", data_dir=tmp_path)
    assert secret not in plain.stdout
    assert plain.stdout.splitlines()[0].split("\t")[:3] == [
        "0", "webhook", "https://nwcu.example.org/hook"
    ]  # fmt: skip

    # One channel of a type per unit (one outbox row per report, unit and channel).
    again = run_wildflag(
        "units", "channel", "add", "GB", "--type", "webhook", "--target", "https://x.test/h",
        data_dir=tmp_path,
    )  # fmt: skip
    assert again.returncode == 2 and "already has a webhook channel" in again.stderr

    removed = run_wildflag("units", "channel", "remove", "GB", "0", data_dir=tmp_path)
    assert removed.returncode == 0, removed.stderr
    listed = run_wildflag("units", "channel", "list", "GB", "--json", data_dir=tmp_path)
    assert [json.loads(line)["type"] for line in listed.stdout.splitlines()] == ["noop"]

    missing = run_wildflag("units", "channel", "remove", "GB", "5", data_dir=tmp_path)
    assert missing.returncode == 2 and "no channel 5" in missing.stderr
    unknown = run_wildflag("units", "channel", "list", "QQ", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no unit 'QQ'" in unknown.stderr
    bad_url = run_wildflag(
        "units", "channel", "add", "FR", "--type", "webhook", "--target", "ftp://x",
        data_dir=tmp_path,
    )  # fmt: skip
    assert bad_url.returncode == 2 and "http(s)://" in bad_url.stderr
    mail = run_wildflag(
        "units", "channel", "add", "FR", "--type", "email", "--target", "ofb@example.fr",
        data_dir=tmp_path,
    )  # fmt: skip
    assert mail.returncode == 0 and mail.stdout == ""  # no secret for e-mail
    chat = run_wildflag(
        "units", "channel", "add", "FR", "--type", "telegram", "--target", "not a chat",
        data_dir=tmp_path,
    )  # fmt: skip
    assert chat.returncode == 2 and "chat id" in chat.stderr
