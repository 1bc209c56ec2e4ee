"""Text that cannot be stored is refused by run_start naming where it is, whatever starts the run (the
API's parser refused it first; the start page reached the database with it, a 500): half of a UTF-16
surrogate pair, which is no character, in the input or the labels, and a NUL character in a label
(labels are a jsonb column, which refuses one; a NUL in the input: test_a_nul_in_a_run_input_is_refused_on_every_surface)."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.services import RunError, run_start


def test_input_text_holding_half_a_surrogate_pair_is_refused_naming_its_key_path(db):
    with pytest.raises(RunError, match=r"input\.documents\[1\]: text holds half of a UTF-16 surrogate pair") as caught:
        run_start(workflow="document_pipeline", input={"documents": ["ok", "a\ud800"]})

    assert list(caught.value.field_errors) == ["input.documents[1]"]
    assert not Run.objects.exists()


@pytest.mark.parametrize(("bad", "said"), [("a\x00", "a NUL character"), ("\udc00", "half of a UTF-16 surrogate")])
def test_a_label_holding_text_that_cannot_be_stored_is_refused_naming_it(db, bad, said):
    with pytest.raises(RunError, match=f"label 'team': the value holds {said}") as caught:
        run_start(workflow="document_pipeline", labels={"team": bad})

    assert list(caught.value.field_errors) == ["labels.team"]
    assert "could never be matched" not in str(caught.value), "the reason is the text, not the budgets"
    assert not Run.objects.exists()
