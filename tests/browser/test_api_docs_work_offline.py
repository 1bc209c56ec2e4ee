"""The API docs open from the navigation and render every operation from the app's own static files:
no request leaves the server (the docs used to load Swagger UI from a CDN and were blank offline)."""

from __future__ import annotations

from urllib.parse import urlsplit


def test_the_api_docs_render_their_operations_offline_with_no_console_error(page, login_as, screenshot,
                                                                           engineer_user):
    outside, failed, errors = [], [], []

    def local_only(route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("localhost", "127.0.0.1"):
            route.continue_()
        else:  # as if offline
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    login_as(page, engineer_user)
    page.get_by_role("list", name="Sections").get_by_role("link", name="API docs").click()
    page.wait_for_url("**/api/docs")
    page.locator(".opblock").first.wait_for()

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/runs" in paths and any(p.startswith("/api/items") for p in paths)
    assert page.get_by_role("link", name="← Gatehouse").is_visible()
    assert outside == [] and failed == [] and errors == []
    screenshot(page, "api-docs")
