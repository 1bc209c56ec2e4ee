"""The runs list, a run's header, its timeline and the reviewer's item show a cost to the millionth, as
the cost pages do: rounded to four places, a run the cost pages list at $0.000117 read $0.0001."""

from __future__ import annotations

from django.urls import reverse

from orchestrator.budgets import money
from orchestrator.models import Checkpoint
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_run_s_cost_reads_alike_on_every_page(email_item, engineer_user, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    run = item.run
    run.refresh_from_db()
    shown = money(run.cost)
    assert len(shown.split(".")[1]) > 4, shown  # a figure four places would round
    draft = Checkpoint.objects.get(run=run, node="draft", source="node")
    assert money(draft.cost) == shown  # the run's one paid step

    client = client_for(engineer_user)
    run_page = client.get(reverse("audit:run", args=[run.thread_id])).content.decode()
    assert f"<dt>Cost</dt><dd>{shown}</dd>" in run_page
    assert f'<td class="num" data-label="Cost">{shown}</td>' in run_page  # the draft step's row
    assert f'<td class="num" data-label="Cost">{shown}</td>' in client.get(reverse("audit:runs")).content.decode()
    checkpoint = client.get(reverse("audit:checkpoint", args=[run.thread_id, draft.step])).content.decode()
    assert f"tokens · {shown}" in checkpoint
    item_page = client_for(reviewer_user).get(reverse("review:item", args=[item.pk])).content.decode()
    assert f"<dd>{shown} " in item_page


def test_a_fork_s_comparison_and_the_journal_show_costs_to_the_millionth(email_item, engineer_user,  # noqa: F811
                                                                         client_for):
    from orchestrator.executor import run_advance
    from orchestrator.forks import run_fork

    run = email_item().run
    run.refresh_from_db()
    shown = money(run.cost)
    draft = Checkpoint.objects.get(run=run, node="draft", source="node")
    # A recorded fork from before the draft answers its LLM call from the journal: it costs nothing.
    fork = run_fork(run=run, at_step=draft.step - 1, mode="recorded", actor=engineer_user)
    assert run_advance(fork.pk, worker="test") == "suspended"

    client = client_for(engineer_user)
    compare = client.get(reverse("audit:compare", args=[fork.thread_id])).content.decode()
    assert f'<div class="value">{shown} → $0.00</div>' in compare
    assert f'<td class="num" data-label="Cost Δ">-{shown}</td>' in compare  # the draft's row: what the replay saved
    journal = client.get(reverse("audit:checkpoint", args=[run.thread_id, draft.step])).content.decode()
    assert f" · {shown} · " in journal
    # The fork's replayed call: $0.00 as every page says nothing, not six zeros.
    replayed = Checkpoint.objects.get(run=fork, node="draft", source="node")
    fork_journal = client.get(reverse("audit:checkpoint", args=[fork.thread_id, replayed.step])).content.decode()
    assert " · $0.00 · " in fork_journal and "$0.000000" not in fork_journal
