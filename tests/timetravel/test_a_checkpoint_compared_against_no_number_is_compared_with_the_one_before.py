"""The checkpoint page's `?against=` that is not a whole number Python reads ("²", which str.isdigit() takes
for a digit, or more than 4,300 digits) compares the checkpoint with the one before it, as any other text
there does, instead of a 500; a whole number the run has no checkpoint for is said so on the page."""

from __future__ import annotations

import re

import pytest


def _diff_rows(html: str) -> list[str]:
    return re.findall(r'data-testid="diff-row".*?</tr>', html, re.S)


@pytest.mark.parametrize("against", ["%C2%B2", "1" * 5000, "x"], ids=["superscript-two", "5000-digits", "text"])
@pytest.mark.parametrize("page", ["", "diff/"])
def test_it_is_compared_with_the_checkpoint_before(client_for, engineer_user, pipeline_run, against, page):
    client = client_for(engineer_user)
    url = f"/runs/{pipeline_run.thread_id}/checkpoints/3/{page}"

    response = client.get(f"{url}?against={against}", HTTP_HX_REQUEST="true")
    before = client.get(f"{url}?against=2", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert _diff_rows(response.content.decode()) == _diff_rows(before.content.decode()) != []


def test_a_number_with_no_checkpoint_is_said(client_for, engineer_user, pipeline_run):
    response = client_for(engineer_user).get(f"/runs/{pipeline_run.thread_id}/checkpoints/3/?against={'9' * 30}")

    assert response.status_code == 200
    assert f"There is no checkpoint {'9' * 30} in this run." in response.content.decode()
