"""Every ledger entry is reachable on the audit page, so the inclusion proof of any entry can be
downloaded there: the entries of all runs or of one run (its thread id, or "system"), a page of 25 at a
time with "Older entries →" down to the first; an unknown run is refused saying where to find ids."""

from __future__ import annotations

import html as html_lib
import re

from audit.models import LedgerEntry


def _gseqs(response) -> list[int]:
    table = response.content.decode().split('data-testid="ledger-entries"')[1].split("</table>")[0]
    return [int(g) for g in re.findall(r'<td class="num mono"[^>]*>(\d+)</td>', table)]


def _older(response) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next" data-testid="older-entries"', response.content.decode())
    return html_lib.unescape(found.group(1)) if found else None


def test_the_pages_lead_to_the_first_entry_and_its_proof(letter_run, compliance_user, client_for):
    for _ in range(4):
        letter_run()  # 8 entries each, and the system chain's
    every = list(LedgerEntry.objects.order_by("-gseq").values_list("gseq", flat=True))
    assert len(every) > 25
    client = client_for(compliance_user)

    seen, page = [], client.get("/audit/")
    while True:
        assert page.status_code == 200
        shown = _gseqs(page)
        assert 0 < len(shown) <= 25
        seen += shown
        if (link := _older(page)) is None:
            break
        page = client.get("/audit/" + link.split("#")[0])
        assert "← Newest" in page.content.decode()

    assert seen == every, "each entry once, newest first, none skipped"
    proof = client.get(f"/audit/entries/{every[-1]}/proof/")
    assert proof.status_code == 200 and proof.json()["entry"]["gseq"] == every[-1]


def test_one_run_s_entries_are_shown_alone(letter_run, compliance_user, client_for):
    run, other = letter_run(), letter_run()
    client = client_for(compliance_user)

    page = client.get("/audit/", {"run": run.thread_id})

    assert page.status_code == 200
    mine = list(LedgerEntry.objects.filter(chain=run.thread_id).order_by("-gseq").values_list("gseq", flat=True))
    assert _gseqs(page) == mine and len(mine) == 8
    assert f'Entries of <span class="mono">{run.thread_id}</span>' in page.content.decode()
    assert other.thread_id not in page.content.decode().split('data-testid="ledger-entries"')[1]
    # From the list of all entries, a run's id is the link to its entries.
    assert f'href="?run={run.thread_id}#entries"' in client.get("/audit/").content.decode()
    system = client.get("/audit/", {"run": "system"})
    assert _gseqs(system) == list(LedgerEntry.objects.filter(chain="system").order_by("-gseq")
                                  .values_list("gseq", flat=True))


def test_an_unknown_run_is_refused_saying_where_ids_are(letter_run, compliance_user, client_for):
    run = letter_run()
    client = client_for(compliance_user)

    page = client.get("/audit/", {"run": run.thread_id.split("-")[-1]})

    assert page.status_code == 400
    error = html_lib.unescape(re.search(r'data-testid="entries-error">(.*?)</div>', page.content.decode()).group(1))
    assert error == (f"No run '{run.thread_id.split('-')[-1]}': copy its thread id exactly as it appears in the "
                     "Run column of the decision log, or of the entries on the audit page; the thread ids of these "
                     f"runs contain what you typed: {run.thread_id}.")


def test_a_page_position_edited_by_hand_starts_from_the_newest(letter_run, compliance_user, client_for):
    letter_run()
    client = client_for(compliance_user)
    newest = _gseqs(client.get("/audit/"))

    for before in ("abc", "-3", "9" * 40):
        page = client.get("/audit/", {"before": before})
        assert page.status_code == 200 and _gseqs(page) == newest, before
