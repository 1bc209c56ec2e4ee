"""A request to the API with more query parameters than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS) is
answered as every refusal of the API is, a JSON 400 saying what to send, where it got the site's HTML "Bad
request" page, which a client cannot read and which said only that the request was malformed."""

from __future__ import annotations

from django.conf import settings


def test_too_many_query_parameters_are_a_json_400(api, reviewer_user):
    query = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = api(reviewer_user).get(f"/api/items?{query}")

    assert response.status_code == 400 and response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"detail": (
        f"the request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} query parameters (or form fields); "
        "nothing was done. Send only the parameters /api/docs lists for this endpoint, and the fields in a JSON "
        "body."), "fields": {}}
