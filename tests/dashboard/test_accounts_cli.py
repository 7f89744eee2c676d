"""`wildflag accounts create` and `set-password`: what an operator runs to let people in."""

from __future__ import annotations

import json

from tests.helpers import run_wildflag


def test_accounts_create_prints_a_generated_password_once(tmp_path):
    made = run_wildflag(
        "accounts", "create", "--email", "Alice@Unit.GB.example", "--role", "officer",
        "--unit", "gb", "--name", "Alice", data_dir=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip()
    assert made.stdout == password + "\n" and len(password) >= 12
    assert "alice@unit.gb.example, officer" in made.stderr
    listed = run_wildflag("accounts", "list", "--json", data_dir=tmp_path)
    row = json.loads(listed.stdout.splitlines()[-1])
    assert (row["email"], row["role"], row["unit"]) == ("alice@unit.gb.example", "officer", "GB")


def test_accounts_create_refuses_what_cannot_work(tmp_path):
    def create(*args: str, stdin: str = "") -> tuple[int, str, str]:
        result = run_wildflag("accounts", "create", *args, data_dir=tmp_path, stdin=stdin)
        return result.returncode, result.stdout, result.stderr

    code, out, err = create("--email", "a@b.example", "--role", "officer")
    assert (code, out) == (2, "") and "needs a unit" in err
    code, out, err = create("--email", "a@b.example", "--role", "officer", "--unit", "QQ")
    assert (code, out) == (2, "") and "no unit 'QQ'" in err
    code, out, err = create("--email", "not-an-address", "--role", "coordinator")
    assert (code, out) == (2, "") and "not an e-mail address" in err
    code, out, err = create(
        "--email", "a@b.example", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert (code, out) == (2, "") and "at least 12 characters" in err
    code, out, err = create(
        "--email", "a@b.example", "--role", "admin", "--password-stdin",
        stdin="a long enough password\n",
    )  # fmt: skip
    assert (code, out) == (0, "")
    code, out, err = create("--email", "A@B.example", "--role", "admin")
    assert (code, out) == (2, "") and "already exists" in err
    code, _, err = create("--email", "x@b.example", "--role", "bot")
    assert code == 2 and "invalid choice" in err


def test_set_password_for_a_locked_out_person(tmp_path):
    run_wildflag("accounts", "create", "--email", "a@b.example", "--role", "admin",
                 data_dir=tmp_path)  # fmt: skip
    reset = run_wildflag("accounts", "set-password", "--email", "a@b.example",
                         "--reset-totp", data_dir=tmp_path)  # fmt: skip
    assert reset.returncode == 0 and len(reset.stdout.strip()) >= 12
    missing = run_wildflag("accounts", "set-password", "--email", "z@b.example",
                           data_dir=tmp_path)  # fmt: skip
    assert missing.returncode == 2 and "no account" in missing.stderr
