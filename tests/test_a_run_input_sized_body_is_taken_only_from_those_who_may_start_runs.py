"""The start page takes a body as large as a run input (GATEHOUSE_MAX_INPUT_BYTES, 16 MB by default)
where every other page stops at GATEHOUSE_FORM_MAX_BYTES. Only from someone who may start runs: an
anonymous visitor, or a signed-in user of another role, is refused before the body is read, as on
any other page, rather than having the server parse it to tell them to sign in or that they may not."""

from django.test import Client

URL = "/runs/new/"


def _big_form() -> dict[str, str]:
    return {"workflow": "document_pipeline", "input": '{"text": "' + "x" * 5000 + '"}'}


def test_an_anonymous_visitor_s_big_body_is_refused_unread(db, settings):
    settings.GATEHOUSE_FORM_MAX_BYTES = 4096

    response = Client().post(URL, _big_form())

    assert response.status_code == 400


def test_a_reviewer_s_big_body_is_refused_unread(client_for, reviewer_user, settings):
    settings.GATEHOUSE_FORM_MAX_BYTES = 4096

    response = client_for(reviewer_user).post(URL, _big_form())

    assert response.status_code == 400


def test_an_engineer_s_big_body_is_read_and_answered_by_the_form(client_for, engineer_user, settings):
    settings.GATEHOUSE_FORM_MAX_BYTES = 4096

    response = client_for(engineer_user).post(URL, _big_form())

    assert response.status_code == 302  # started: the input is under GATEHOUSE_MAX_INPUT_BYTES
