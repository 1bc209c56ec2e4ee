"""Request size: pages take forms of ordinary size; only the API may send a whole run input."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse


class FormSizeLimit:
    """Refuse a page request whose body is over GATEHOUSE_FORM_MAX_BYTES, before anything reads it.

    DATA_UPLOAD_MAX_MEMORY_SIZE has to admit an API request carrying a run input of up to
    GATEHOUSE_MAX_INPUT_BYTES (16 MB by default); without this, every form, the login page
    included, would accept bodies that large too. The refusal is Django's own (a 400 page that says
    why, config.views.bad_request).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/"):  # path_info: the same under a URL prefix
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.GATEHOUSE_FORM_MAX_BYTES:
                raise RequestDataTooBig("request body exceeded GATEHOUSE_FORM_MAX_BYTES")
        return self.get_response(request)
