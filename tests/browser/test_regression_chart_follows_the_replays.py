"""The regression batch page's chart follows the replays with its table: opened while the replays are
queued it shows only the original costs, and as they finish their replay bars appear without a
reload. Every bar fits inside the plot, and each run is named in full beside its bars (the workflow's
name, shared by all, left out) instead of cut to a stub like `ent-3a3584b19f`."""

from __future__ import annotations

from playwright.sync_api import expect

from orchestrator.forks import replay_batch_start
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from tests.timetravel.conftest import advance

CHART = "[data-testid=batch-chart] .js-plotly-plot"


def _box(locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return {**box, "right": box["x"] + box["width"], "bottom": box["y"] + box["height"]}


def _replay_costs(page) -> list[float]:
    return page.locator(CHART).evaluate("g => g.data[1].x")


def test_the_replay_bars_appear_as_the_replays_finish_and_fit_the_plot(page, login_as, screenshot,
                                                                       engineer_user):
    parents = [advance(run_start(workflow="document_pipeline", input={"pages": 30}, actor=engineer_user))
               for _ in range(3)]
    batch, forks, _ = replay_batch_start(runs=parents, node="summarize", node_settings={"model": "demo-large"},
                                         actor=engineer_user)
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/runs/regression/{batch}/")
    page.locator(CHART).locator(".barlayer .point path").first.wait_for()
    page.evaluate("window.notReloaded = true")
    assert _replay_costs(page) == [0, 0, 0], "nothing replayed yet"
    screenshot(page, "regression-batch-queued")

    for fork in forks:
        assert advance(fork).status == RunStatus.COMPLETED
    costs = [float(Run.objects.get(pk=fork.pk).cost) for fork in forks]
    assert all(costs), "each replay called the model"
    expect(page.get_by_test_id("batch-row").filter(has_text="completed")).to_have_count(3, timeout=10_000)
    page.wait_for_function(f"() => {{ const g = document.querySelector('{CHART}');"
                           f" return g && JSON.stringify(g.data[1].x) === '{costs}'.replaceAll(' ', ''); }}",
                           timeout=10_000)
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    screenshot(page, "regression-batch-finished")

    chart = page.locator(CHART)
    plot = _box(chart.locator(".nsewdrag").first)
    original, replay = (chart.locator(".barlayer .trace.bars").nth(i).locator(".point path") for i in (0, 1))
    assert original.count() == replay.count() == 3
    for bar in [*original.all(), *replay.all()]:
        bar = _box(bar)
        assert bar["width"] > 2, "a bar is not drawn"
        assert plot["x"] - 1 <= bar["x"] and bar["right"] <= plot["right"] + 1, "a bar runs out of the plot"
        assert plot["y"] - 1 <= bar["y"] and bar["bottom"] <= plot["bottom"] + 1, "a bar runs out of the plot"
    legend = _box(chart.locator(".legend").first)
    assert legend["bottom"] <= plot["y"] + 1, "the legend covers the bars"

    names = chart.locator(".yaxislayer-above .ytick text")
    assert names.all_text_contents() == [p.thread_id.removeprefix("document_pipeline-") for p in parents]
    card = _box(page.get_by_test_id("batch-chart"))
    for i in range(names.count()):
        name = _box(names.nth(i))
        assert card["x"] <= name["x"] and name["right"] <= plot["x"] + 1, "a run's name is cut off or runs into the plot"
