"""Every page names an icon that loads, and /favicon.ico answers too (for pages that name none, like
the admin site): no 404 in the browser console."""

from __future__ import annotations

from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_pages_load_their_icon_with_no_failed_request_or_console_error(
    page, login_as, reviewer_user, email_item  # noqa: F811
):
    item = email_item()
    failed, errors, icons = [], [], []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("response", lambda r: icons.append(r.status) if "favicon" in r.url else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    login_as(page, reviewer_user)
    for path in ("/inbox/", f"/inbox/{item.pk}/"):
        page.goto(path)
        assert page.locator("link[rel=icon]").count() >= 1
    page.wait_for_timeout(500)

    assert icons and set(icons) == {200}, icons
    assert failed == [] and errors == []


def test_favicon_ico_leads_to_the_icon(client, db):
    response = client.get("/favicon.ico", follow=True)

    assert response.redirect_chain[0][1] == 301
    assert response.status_code == 200 and response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
