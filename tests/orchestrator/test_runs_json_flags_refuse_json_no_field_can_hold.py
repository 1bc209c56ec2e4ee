"""`runs start --input`, `runs fork --set`/`--override` and `runs resume --edit` refuse JSON that Python's
reader takes but no field can hold, naming the flag and saying why, and do nothing: a whole number of more
than 4,300 digits and nesting deeper than Python recurses printed a traceback, and text holding half of a
UTF-16 surrogate pair (the escape \\ud800 with no partner), which no database or ledger digest takes, did
too from --override. A key given twice in one object is refused too, as the API refuses it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestrator.models import Run
from review.models import ReviewItem


def _refused(*args: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("runs", *args, stdout=io.StringIO())
    return str(refused.value)


@pytest.mark.parametrize("value", ['{"to": "a@b.co", "topic": ' + "1" * 5000 + "}", "[" * 100_000 + "]" * 100_000],
                         ids=["5000-digits", "deep"])
def test_runs_start_refuses_what_it_cannot_read(db, value):
    assert _refused("start", "email_approval", "--input", value) == (
        "--input holds a whole number of more than 4,300 digits, or nests too deeply, to be read; no field takes "
        "one. Nothing was done.")
    assert not Run.objects.exists()


def test_runs_resume_refuses_a_5000_digit_edit(waiting, make_user):
    make_user("rita", "reviewer")
    assert _refused("resume", waiting.thread_id, "--edit", '{"subject": ' + "1" * 5000 + "}", "--actor", "rita") \
        .startswith("--edit holds a whole number of more than 4,300 digits")
    assert ReviewItem.objects.get(run=waiting).status == "pending"


def test_runs_fork_refuses_a_lone_surrogate_in_an_override(waiting, make_user):
    make_user("emery", "engineer")
    assert _refused("fork", waiting.thread_id, "--at", "1", "--actor", "emery",
                    "--override", '{"nodes": {"draft": {"model": "demo\\ud800"}}}') == (
        "--override: nodes.draft.model holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a "
        "character; write whole characters, or a \\uXXXX\\uXXXX pair. Nothing was done.")
    assert Run.objects.count() == 1


def test_a_whole_pair_is_text(waiting, make_user):
    make_user("emery", "engineer")
    call_command("runs", "fork", waiting.thread_id, "--at", "1", "--actor", "emery",
                 "--override", '{"nodes": {"draft": {"model": "demo-\\ud83d\\ude00"}}}', stdout=io.StringIO())
    assert Run.objects.exclude(pk=waiting.pk).get().overrides == {"nodes": {"draft": {"model": "demo-\U0001f600"}}}


def test_a_key_given_twice_in_one_object_is_refused_not_read_as_the_last(db):
    # json keeps the last: `{"topic": "refund", "topic": "renewal"}` would start a run about something
    # the operator typed and then typed over, without a word (the API refuses it too).
    assert _refused("start", "email_approval", "--input", '{"to": "a@b.co", "topic": "refund", "topic": "renewal"}') \
        == "--input gives the key 'topic' more than once in one object; give it once. Nothing was done."
    assert not Run.objects.exists()
