"""Every URL the product serves, walked from the URL configuration rather than listed by hand (a
view added later is covered without anyone remembering to): an anonymous GET or POST is sent to
the login page (pages) or refused with 401/403 (API), and never answered with data, a changed
record or a server error. Only the login pages (ours and the Django admin's, both throttled by
django-axes), logging out, the health check and the icon are public."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"/login/", "/healthz", "/favicon.ico", "/admin/login/", "/admin/logout/"}
NO_VIEW = "/api/"  # the API's mount point: a prefix of its routes, with no view of its own
SAMPLE = {"int": "1", "slug": "a" * 64, "str": "x", "path": "x"}


def _routes(patterns, prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _url(route: str) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)  # regex routes (the admin's)
    return "/" + route.replace("\\", "")


URLS = sorted({_url(r) for r in _routes(get_resolver().url_patterns)} - PUBLIC)


def test_the_walk_found_the_product_s_pages_and_api():
    assert {"/inbox/", "/runs/", "/costs/", "/audit/decisions/"} <= set(URLS)
    assert any(u.startswith("/api/runs/") for u in URLS) and any(u.startswith("/api/items") for u in URLS)


@pytest.mark.parametrize("url", URLS)
def test_an_anonymous_visitor_gets_nothing(client, db, url):
    refused = []  # the methods the URL serves, each answered with a refusal
    for method in (client.get, client.post):
        response = method(url)
        where = f"{method.__name__.upper()} {url}"
        status = response.status_code
        assert status < 500, f"{where} answered {status}"
        if status == 405:
            continue  # a method the URL does not serve at all
        # A 404 would also pass for a view that checks nothing and merely did not find the sample id.
        assert status in (302, 401, 403) or url == NO_VIEW, f"{where} answered {status}"
        if status == 302:
            assert "/login/" in response["Location"], f"{where} sent to {response['Location']}"
        refused.append(where)
    assert refused or url == NO_VIEW, f"{url}: neither GET nor POST was refused (both 405)"
