"""A label key holding a NUL character (%00), which PostgreSQL refuses in a query, is refused by the costs
page and the chargeback CSV saying what to send instead, and no figures are shown, where both were a 500."""

from __future__ import annotations


def test_the_costs_page_refuses_it(client_for, compliance_user):
    response = client_for(compliance_user).get("/costs/?by=label&label_key=dep%00t")

    page = response.content.decode()
    assert response.status_code == 400
    assert "No figures are shown for these filters." in page
    assert "Spend by: the label key may not contain the NUL character (%00); choose one from the list." in page
    assert 'data-testid="total-spend"' not in page


def test_the_chargeback_csv_refuses_it(client_for, compliance_user):
    response = client_for(compliance_user).get("/costs/chargeback.csv?month=2025-01&label_key=dep%00t")

    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == ("label_key may not contain the NUL character (%00): name a label key, "
                                         "e.g. ?label_key=department&month=2025-01.\n")
