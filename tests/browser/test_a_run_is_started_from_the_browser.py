"""In Chromium: an engineer opens "Start a run" from the runs list, picks a workflow (its input's fields
show beside the box, its example fills it), fixes the JSON and the schema violation the page points
out with what they typed kept, starts it and lands on the run's page, where a real worker takes it to
its gate. The form sent three times at once starts one run. The page fits a 390 px phone."""

from __future__ import annotations

from playwright.sync_api import expect

from orchestrator.models import Run

PHONE = 390


def test_an_engineer_starts_a_run_and_a_worker_takes_it_to_its_gate(page, login_as, screenshot, engineer_user,
                                                                     start_worker):
    login_as(page, engineer_user)
    page.goto("/runs/")
    page.get_by_test_id("start-run").click()
    page.wait_for_url("**/runs/new/")
    expect(page.get_by_test_id("input-schema-none")).to_be_visible()

    page.get_by_label("email_approval").check()
    schema = page.locator("[data-schema-for=email_approval]")
    expect(schema).to_be_visible()
    expect(schema).to_contain_text("topic")
    expect(page.locator("[data-schema-for=research_agent]")).to_be_hidden()
    box = page.get_by_label("Input", exact=False).first
    assert box.input_value() == '{\n  "to": "",\n  "topic": ""\n}'  # its example, to fill in
    screenshot(page, "run-start")

    typed = '{"to": "cfo@example.com", "topic": Q3 numbers}'
    box.fill(typed)
    page.get_by_test_id("start-submit").click()
    expect(page.get_by_test_id("input-error")).to_contain_text("The input is not valid JSON: expecting value at line 1, "
                                                               "column 36.")
    assert box.input_value() == typed and not Run.objects.exists()
    expect(page.get_by_label("email_approval")).to_be_checked()
    screenshot(page, "run-start-invalid-json")

    typed = '{"to": "cfo@example.com", "tpoic": "Q3 numbers"}'
    box.fill(typed)
    page.get_by_test_id("start-submit").click()
    expect(page.get_by_test_id("input-error")).to_contain_text("input.topic: is required")
    expect(page.get_by_test_id("input-error")).to_contain_text("input.tpoic: is not a field the workflow knows")
    assert box.input_value() == typed and not Run.objects.exists()
    screenshot(page, "run-start-schema-violation")

    box.fill('{"to": "cfo@example.com", "topic": "Q3 numbers"}')
    page.get_by_label("Labels", exact=False).fill("department=finance")
    page.get_by_test_id("start-submit").click()
    run = Run.objects.get()
    page.wait_for_url(f"**/runs/{run.thread_id}/")
    expect(page.locator(".messages .success")).to_contain_text(f"Started {run.thread_id}")
    assert run.labels == {"department": "finance"} and run.created_by == engineer_user

    worker = start_worker(burst=True)
    assert worker.popen.wait(timeout=60) == 0, worker.output()
    # The page polls while the run is queued, and reloads once it comes to rest at the gate.
    expect(page.get_by_test_id("run-status")).to_have_text("Suspended", timeout=30_000)
    screenshot(page, "run-started-at-its-gate")


def test_the_form_sent_three_times_at_once_starts_one_run(page, login_as, engineer_user):
    login_as(page, engineer_user)
    page.goto("/runs/new/?workflow=document_pipeline")
    page.get_by_label("Input", exact=False).first.fill('{"pages": 3}')

    # Two sends of the same form race each other from the page, and the button is pressed as well.
    statuses = page.evaluate("""async () => {
        const form = document.querySelector("form.start-form");
        const send = () => fetch(form.action || location.href, {method: "POST", body: new FormData(form),
                                                                  redirect: "manual"});
        const answers = await Promise.all([send(), send()]);
        return answers.map(a => a.type);
    }""")
    page.get_by_test_id("start-submit").click()

    run = Run.objects.get()
    page.wait_for_url(f"**/runs/{run.thread_id}/")
    assert statuses == ["opaqueredirect", "opaqueredirect"]  # both were answered with a redirect: to that run


def test_the_start_page_fits_a_phone(page, login_as, screenshot, engineer_user):
    login_as(page, engineer_user)
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.goto("/runs/")
    expect(page.get_by_test_id("start-run")).to_be_visible()
    page.get_by_test_id("start-run").click()
    page.get_by_label("research_agent").check()
    page.get_by_test_id("start-submit").click()  # its example leaves the question empty: refused
    expect(page.get_by_test_id("input-error")).to_contain_text("input.question")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"
    for part in ("start-submit", "input-error"):
        box = page.get_by_test_id(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE, f"{part} is past the screen's edge"
    screenshot(page, "run-start-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, "run-start-refused-desktop")
