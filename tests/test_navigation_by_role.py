"""Each role sees exactly its sections, and every section refuses the roles that may not open it."""

from __future__ import annotations

import re

import pytest

# Written out here rather than read from orchestrator.roles.SECTIONS: this is the spec it must meet.
SECTION_URLS = {"inbox": "/inbox/", "runs": "/runs/", "audit": "/audit/", "costs": "/costs/", "api": "/api/docs"}
ALLOWED = {
    "reviewer_user": {"inbox", "api"},
    "reviewer2_user": {"inbox", "api"},
    "engineer_user": {"inbox", "runs", "costs", "api"},  # the inbox for the loop guards of their group
    "compliance_user": {"audit", "costs", "api"},  # the API reads items for compliance
    "admin_user": {"inbox", "runs", "audit", "costs", "admin", "api"},
    "outsider_user": set(),
}
START_PAGE = {
    "reviewer_user": "/inbox/",
    "reviewer2_user": "/inbox/",
    "engineer_user": "/runs/",
    "compliance_user": "/audit/",
    "admin_user": "/inbox/",
}


def _nav_sections(html: str) -> set[str]:
    return set(re.findall(r'data-section="([a-z]+)"', html))


@pytest.mark.parametrize("persona", ALLOWED)
def test_each_persona_sees_exactly_its_sections_in_the_navigation(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))
    # The 403 page renders the shell too, so this works for the outsider as well.
    response = client.get("/", follow=True)

    assert _nav_sections(response.content.decode()) == ALLOWED[persona]


@pytest.mark.parametrize("persona", START_PAGE)
def test_home_sends_each_role_to_its_first_section(request, client_for, persona):
    response = client_for(request.getfixturevalue(persona)).get("/")

    assert response.status_code == 302
    assert response.url == START_PAGE[persona]


def test_home_tells_a_user_without_a_role_to_ask_for_one(client_for, outsider_user):
    response = client_for(outsider_user).get("/")

    assert response.status_code == 403
    assert b"no role yet" in response.content


@pytest.mark.parametrize("persona", ALLOWED)
@pytest.mark.parametrize("section", SECTION_URLS)
def test_every_section_answers_only_the_roles_allowed_to_open_it(request, client_for, persona, section):
    response = client_for(request.getfixturevalue(persona)).get(SECTION_URLS[section])

    expected = 200 if section in ALLOWED[persona] else 403
    assert response.status_code == expected


@pytest.mark.parametrize("section", SECTION_URLS)
def test_every_section_sends_anonymous_users_to_the_login_page(client, section):
    response = client.get(SECTION_URLS[section])

    assert response.status_code == 302
    assert response.url == f"/login/?next={SECTION_URLS[section]}"


@pytest.mark.parametrize("persona", ["reviewer_user", "engineer_user", "compliance_user", "outsider_user"])
def test_the_admin_site_is_closed_to_everyone_but_admins(request, client_for, persona):
    response = client_for(request.getfixturevalue(persona)).get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_the_admin_site_opens_for_the_admin(client_for, admin_user):
    assert client_for(admin_user).get("/admin/").status_code == 200


def test_a_forbidden_page_explains_itself_inside_the_app_shell(client_for, reviewer_user):
    response = client_for(reviewer_user).get("/costs/")

    html = response.content.decode()
    assert response.status_code == 403
    assert "You don't have access to this page" in html
    assert "Your role may not open Costs." in html
    assert _nav_sections(html) == ALLOWED["reviewer_user"]


def test_logging_out_takes_a_post_with_a_csrf_token(reviewer_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer_user)

    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403  # no token
    page = client.get("/inbox/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get("/inbox/").status_code == 302


def test_the_body_carries_the_csrf_header_for_htmx_requests(client_for, reviewer_user):
    html = client_for(reviewer_user).get("/inbox/").content.decode()

    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'>", html)
    assert 'id="nav-inbox-count"' in html
    assert "/static/vendor/htmx.min.js" in html


def test_healthz_reports_database_and_redis(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_healthz_answers_503_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


def test_an_admin_without_staff_status_is_not_shown_the_admin_site_it_would_refuse(client_for, make_user):
    # The admin role is a group; Django's admin site also wants is_staff (README: Accounts and roles).
    not_staff = make_user("adm2", "admin", is_staff=False)
    client = client_for(not_staff)

    sections = _nav_sections(client.get("/", follow=True).content.decode())

    assert "admin" not in sections and "runs" in sections
    assert client.get("/admin/").status_code == 302  # what the link would have led to
