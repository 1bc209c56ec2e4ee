"""Text holding half of a UTF-16 surrogate pair (a JSON escape such as \\ud800 with no partner, or the UTF-8
bytes of one, which Python's JSON reader passes) is not a character: PostgreSQL refuses it and Python cannot
encode it as UTF-8, so a label or a cancel reason holding one was a 500 after the request had been read. It
is refused naming its key path and saying what to send, and nothing is done; a whole pair (an emoji written
as \\ud83d\\ude00) is text like any other."""

from __future__ import annotations

import pytest

from orchestrator.models import Run, RunStatus

NOT_UNICODE = ("holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a character; send whole "
               "characters, in UTF-8 or as a \\uXXXX\\uXXXX pair")
INPUT = '"input": {"to": "a@b.co", "topic": "x"}'


@pytest.mark.parametrize(("labels", "path", "problem"), [
    ('{"customer": "acme\\ud800"}', "labels.customer", f"text {NOT_UNICODE}"),
    ('{"customer": "acme\\uDFFF"}', "labels.customer", f"text {NOT_UNICODE}"),
    ('{"cust\\udc00omer": "acme"}', "labels", f"has a key that {NOT_UNICODE}"),
])
def test_a_start_with_a_label_holding_one_is_a_422_naming_it(api, engineer_user, labels, path, problem):
    body = f'{{"workflow": "email_approval", {INPUT}, "labels": {labels}}}'

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {"detail": f"the request was not accepted: {path}: {problem}. Correct it and send it "
                                         "again; nothing was done.", "fields": {path: problem}}
    assert not Run.objects.exists()


def test_its_utf8_bytes_are_refused_alike(api, engineer_user):
    body = f'{{"workflow": "email_approval", {INPUT}, "labels": {{"customer": "acme'.encode() + b'\xed\xa0\x80"}}'

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 422 and response.json()["fields"] == {"labels.customer": f"text {NOT_UNICODE}"}
    assert not Run.objects.exists()


def test_a_cancel_reason_holding_one_cancels_nothing(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", '{"reason": "dup\\ud800"}',
                                       content_type="application/json")

    assert response.status_code == 422 and response.json()["fields"] == {"reason": f"text {NOT_UNICODE}"}
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED


def test_a_whole_pair_is_text(api, engineer_user):
    body = f'{{"workflow": "email_approval", {INPUT}, "labels": {{"mood": "\\ud83d\\ude00"}}}}'

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 201 and Run.objects.get().labels == {"mood": "\U0001f600"}
