"""In a real browser: open a run, pick a checkpoint, see its diff, fork it with an edit (an invalid
entry is refused first), watch the fork complete on a real worker process, open the comparison."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import expect
from redis import Redis
from rq import Queue

from orchestrator import queue as run_queue
from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated_queue(monkeypatch):
    """A Redis database of its own, so the burst worker only sees this test's jobs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0"
    url = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{9 + int(worker) % 6}"
    redis = Redis.from_url(url)
    redis.flushdb()
    monkeypatch.setattr(run_queue.django_rq, "get_queue", lambda name: Queue(name, connection=redis))
    yield url
    redis.flushdb()


@pytest.fixture
def start_worker(isolated_queue, tmp_path):
    """Start `manage.py rqworker default --burst` against the test database; it exits when idle."""
    started: list[subprocess.Popen] = []
    db = connection.settings_dict
    host = db["OPTIONS"].get("host") or db["HOST"] or "localhost"
    database_url = f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={host}"
    if db["HOST"] and not db["OPTIONS"].get("host"):
        database_url = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"

    def start() -> subprocess.Popen:
        # DEBUG as in this process: a DATABASE_URL alone would mean a deployment (debug off).
        env = {"DEBUG": "1", **os.environ, "DATABASE_URL": database_url, "REDIS_URL": isolated_queue}
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "manage.py", "rqworker", "default", "--burst"], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_engineer_forks_a_run_from_the_browser_and_compares_it(page, login_as, screenshot, engineer_user,
                                                                    start_worker):
    run = run_start(workflow="document_pipeline", input={"pages": 20}, actor=engineer_user)
    assert run_advance(run.pk, worker="setup") == RunStatus.COMPLETED
    login_as(page, engineer_user)

    page.goto(f"/runs/{run.thread_id}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Completed")
    expect(page.get_by_test_id("timeline-row")).to_have_count(13)
    screenshot(page, "time-travel-run")

    page.locator('[data-step="3"]').get_by_test_id("checkpoint-link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 3")
    diff = page.get_by_test_id("checkpoint-diff")
    expect(diff.get_by_test_id("diff-row").filter(has_text="trail[2]")).to_contain_text("clean")
    page.get_by_label("Compare against checkpoint").select_option("1")
    expect(diff.get_by_test_id("diff-row").filter(has_text="trail[1]")).to_be_visible()
    screenshot(page, "time-travel-checkpoint")

    page.get_by_test_id("fork-button").click()
    page.get_by_role("textbox", name="pages integer").fill('"many"')
    page.get_by_role("textbox", name="model text").fill('"demo-large"')
    page.get_by_test_id("fork-submit").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("pages: must be a whole number, not 'many'")
    assert Run.objects.filter(parent=run).count() == 0
    screenshot(page, "time-travel-fork-refused")

    page.get_by_role("textbox", name="pages integer").fill("20")
    expect(page.get_by_label("Recorded")).to_be_checked()
    expect(page.get_by_label("Perform side effects for real")).not_to_be_checked()
    page.get_by_test_id("fork-submit").click()
    expect(page.get_by_test_id("run-header")).to_contain_text(f"Fork of {run.thread_id}")
    fork = Run.objects.get(parent=run)
    assert (fork.replay_mode, fork.forked_from_step, fork.allow_effects) == ("recorded", 3, False)

    start_worker()
    expect(page.get_by_test_id("run-status")).to_have_text("Completed", timeout=60_000)
    expect(page.get_by_test_id("diverged")).to_contain_text("classify")
    screenshot(page, "time-travel-fork-completed")

    page.get_by_test_id("compare-link").click()
    expect(page.get_by_test_id("first-live-node")).to_have_text("classify")
    expect(page.get_by_test_id("compare-row")).to_have_count(9)
    screenshot(page, "time-travel-compare")
