"""The commands' tables line up whatever they hold, show control characters as escapes, and mark a
value they cut. `runs history` had a 26-character time column for 32-character timestamps, `runs show`
a label column narrower than "suspended_reason:", `api_token --list` shifted after a long name and
wrote a token name's terminal escape to the terminal, and `runs diff` cut values at 120 characters
with nothing to say so (leaving a quote unclosed)."""

from __future__ import annotations

import json

from django.utils import timezone

from orchestrator.models import Run
from orchestrator.tokens import api_token_create

EVIL = "evil\x1b[31mRED\x07"


def _clean(result) -> str:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout, result.stdout
    return result.stdout


def test_history_puts_every_column_under_its_header(letter_run, manage_cli):
    run = letter_run()
    header, *rows = _clean(manage_cli("runs", "history", run.thread_id)).splitlines()
    assert header.split() == ["step", "node", "source", "time", "actor"] and len(rows) == 7
    for row, checkpoint in zip(rows, json.loads(manage_cli("runs", "history", run.thread_id, "--json").stdout),
                               strict=True):
        assert row[header.index("time"):].startswith(checkpoint["created_at"])
        assert row[header.index("actor"):] == "-"


def test_show_aligns_every_label_and_escapes_values(letter_run, manage_cli):
    run = letter_run(labels={"customer": "acme"})
    Run.objects.filter(pk=run.pk).update(status="failed", error={"message": "boom\x1b[2J\rforged line"},
                                         finished_at=timezone.now())
    lines = _clean(manage_cli("runs", "show", run.thread_id)).splitlines()
    assert len({line.index(":") for line in lines}) == 1, lines  # every label ends in the same column
    assert any(line.lstrip().startswith("suspended_reason: ") for line in lines)
    (error,) = [line for line in lines if line.lstrip().startswith("error:")]
    assert error.endswith(r"boom\x1b[2J\rforged line")


def test_token_list_aligns_long_names_and_escapes_control_characters(engineer_user, manage_cli):
    api_token_create(user=engineer_user, name="nightly-export-for-the-compliance-archive")
    api_token_create(user=engineer_user, name=EVIL)
    api_token_create(user=engineer_user, name="ci")
    header, *rows = _clean(manage_cli("api_token", "engineer", "--list")).splitlines()
    assert header.split() == ["token", "name", "created", "last", "used", "state"] and len(rows) == 3
    today = f"{timezone.now():%Y-%m-%d}"
    for row in rows:
        assert row[header.index("created"):].startswith(today)
        assert row[header.index("last used"):].startswith("never ")
    assert any(r"evil\x1b[31mRED\x07" in row for row in rows)


def test_diff_marks_a_cut_value_and_json_has_it_whole(letter_run, manage_cli):
    email = "a" * 150 + "@example.com"
    run = letter_run(email=email)
    text = _clean(manage_cli("runs", "diff", run.thread_id, "--from", "0", "--to", "1"))
    (line,) = [line for line in text.splitlines() if line.startswith("changed  text")]
    shown = line.split(" -> ")[1]
    assert len(shown) == 120 and shown == f'"Dear {email}'[:119] + "…"

    whole = json.loads(manage_cli("runs", "diff", run.thread_id, "--from", "0", "--to", "1", "--json").stdout)
    assert next(c for c in whole if c["path"] == "text")["after"] == f"Dear {email}, step 1"
