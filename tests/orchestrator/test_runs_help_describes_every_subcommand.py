"""`manage.py runs --help` says what each subcommand does: show, history, cancel, retry, workflows and
list were listed with no text at all."""

from __future__ import annotations

import re


def test_every_subcommand_has_a_line_of_help(manage):
    shown = manage("runs", "--help").stdout
    listing = shown[shown.index("{"):shown.index("options:")]
    helped = dict(re.findall(r"^    (\w+) +(\S.*)$", listing, flags=re.MULTILINE))
    assert set(helped) == {"start", "show", "state", "history", "resume", "cancel", "retry", "workflows", "list",
                           "fork", "diff"}, listing
