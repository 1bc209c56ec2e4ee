"""The filter and export forms at a laptop's 1366 px: every placeholder fits its box (not "thread id
(or leave e" or "document_pipeli"), a field refused by the server keeps the rounded corners of its
neighbours, and the decision log's Filter button is the same primary button as the runs list's, not
a grey one that reads as disabled."""

from __future__ import annotations

import pytest

from tests.review.fixtures import email_item  # noqa: F401  (fixture)

PAGES = ["/inbox/", "/runs/", "/runs/regression/?workflow=email_approval", "/audit/"]

# For each input with a placeholder: [name, placeholder, width of its text, room inside the box].
PLACEHOLDERS = """() => [...document.querySelectorAll('main input[placeholder]')].filter(e => e.offsetParent).map(e => {
  const style = getComputedStyle(e), ctx = document.createElement('canvas').getContext('2d');
  ctx.font = style.font;
  return [e.name, e.placeholder, ctx.measureText(e.placeholder).width,
          e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
})"""
CORNERS = ("e => ['TopLeft', 'TopRight', 'BottomRight', 'BottomLeft']"
           ".map(c => getComputedStyle(e)['border' + c + 'Radius'])")


@pytest.fixture
def laptop(page, login_as, admin_user, email_item):  # noqa: F811
    email_item()  # something in the inbox and a run to list
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, admin_user)
    return page


def test_every_placeholder_fits_its_box(laptop, screenshot):
    cut = []
    for path in PAGES:
        laptop.goto(path)
        fields = laptop.evaluate(PLACEHOLDERS)
        assert fields, f"{path} has no placeholder to check"
        cut += [(path, name, text) for name, text, width, room in fields if width > room]
    assert not cut, f"placeholders cut off: {cut}"


def test_a_refused_filter_keeps_its_rounded_corners(laptop, screenshot):
    laptop.goto("/runs/?label=nolabel&min_cost=abc")
    refused = laptop.locator("main [aria-invalid=true]")
    assert refused.count() == 2
    valid = laptop.get_by_label("Thread id").evaluate(CORNERS)
    assert len(set(valid)) == 1 and valid[0] != "0px", valid
    for field in refused.all():
        assert field.evaluate(CORNERS) == valid, f"{field.get_attribute('name')} lost its corners"
    screenshot(laptop, "runs-refused-filters")


def test_the_decision_log_filters_with_the_primary_button(laptop):
    laptop.goto("/runs/")
    primary = laptop.get_by_role("button", name="Filter").evaluate("b => getComputedStyle(b).backgroundColor")
    laptop.goto("/audit/decisions/")
    button = laptop.get_by_role("button", name="Filter")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == primary
    corners = button.evaluate(CORNERS)
    assert len(set(corners)) == 1 and corners[0] != "0px", f"the button's corners are {corners}"
