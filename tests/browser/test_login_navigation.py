"""In a real browser, each role signs in and sees exactly the sections it may open."""

from __future__ import annotations

import pytest

# persona fixture -> (start page path, navigation labels in menu order)
PERSONAS = {
    "reviewer_user": ("/inbox/", ["Inbox", "API docs"]),
    "engineer_user": ("/runs/", ["Inbox", "Runs", "Costs", "API docs"]),
    "compliance_user": ("/audit/", ["Audit", "Costs", "API docs"]),
    "admin_user": ("/inbox/", ["Inbox", "Runs", "Audit", "Costs", "Admin", "API docs"]),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_lands_on_its_first_section_and_sees_only_its_links(
    request, page, login_as, screenshot, persona
):
    user = request.getfixturevalue(persona)
    start, labels = PERSONAS[persona]

    login_as(page, user)

    assert page.url.endswith(start)
    nav = page.get_by_role("list", name="Sections").locator("a")
    assert [text.strip() for text in nav.all_inner_texts()] == labels
    assert page.get_by_test_id("current-user").inner_text() == user.get_full_name()
    screenshot(page, f"home-{persona.removesuffix('_user')}")


def test_the_login_page_loads_its_vendored_css_and_htmx(page, screenshot):
    page.goto("/login/")

    # Served by the app itself (whitenoise/staticfiles), never a CDN.
    assert page.evaluate("typeof htmx") == "object"
    pico_font = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--pico-font-size')"
    )
    assert pico_font.strip() == "93.75%"
    screenshot(page, "login")


def test_a_wrong_password_keeps_you_on_the_login_page_with_a_message(page, reviewer_user):
    page.goto("/login/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    assert "/login/" in page.url
    assert "did not match" in page.get_by_role("alert").inner_text()


def test_logging_out_returns_to_the_login_page_and_locks_the_sections(page, login_as, engineer_user):
    login_as(page, engineer_user)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    page.goto("/runs/")

    assert "/login/?next=/runs/" in page.url


def test_on_a_phone_every_section_link_is_in_sight_on_one_line(page, login_as, screenshot, admin_user):
    # The admin has the most sections; on a 390 px phone they used to overflow a sideways-scrolling
    # strip, with "API docs" broken over two lines at the screen's edge.
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, admin_user)
    screenshot(page, "nav-phone-admin")
    links = page.get_by_role("list", name="Sections").locator("a")
    home = links.first.bounding_box()
    assert home is not None
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{links.nth(i).inner_text()!r} is out of sight"
        assert box["height"] <= home["height"] + 1, f"{links.nth(i).inner_text()!r} breaks over two lines"
