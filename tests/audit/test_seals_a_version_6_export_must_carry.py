"""Version 6 exports carry only the seals they need, chosen by Gatehouse from its database. What the verifier
can check of that choice it checks: a pruned run's export carries the seal before the first that named it
(its signed time bounds the run's start), an export of every run carries every seal, and the signed list of
seals is compared range by range (a range is never expanded into its numbers)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from audit.export_seals import first_missing
from tests.audit.conftest import EXPORT_RECORD, PRUNE_RECORD
from tests.audit.ledger_export_builder import (
    EXAMPLE_RUNS,
    Ledger,
    build_ledger,
    export_lines,
    signed_manifest,
)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def late_ledger(key: Ed25519PrivateKey) -> Ledger:
    """Seals of one entry each first, so that T-3 is first named by seal 3; seal 5 covers the system entry
    that recorded its prune, with every seal signed the same minute: the prune came inside its period."""
    return build_ledger(EXAMPLE_RUNS, seal_sizes=[1, 2, 10, 22, 30], keys=[key], system=[EXPORT_RECORD, PRUNE_RECORD])


def text(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


def resigned(lines: list[bytes], key: Ed25519PrivateKey, **changes) -> list[bytes]:
    """The lines with the manifest (and the header, for `scope`) changed as Gatehouse would have signed it."""
    manifest = json.loads(lines[-1])
    body = {k: v for k, v in manifest.items() if k not in ("type", "signature", "key_id")} | changes
    header = json.loads(lines[0]) | ({"scope": changes["scope"]} if "scope" in changes else {})
    return [canonical_json(header) + b"\n", *lines[1:-1], canonical_json(signed_manifest(body, key)) + b"\n"]


def test_a_pruned_run_s_export_without_the_seal_that_bounds_its_start_fails(late_ledger: Ledger, key):
    whole = verifier.verify_export(export_lines(late_ledger, runs=["T-3"], pruned=("T-3",)), [key.public_key()])
    assert "but the run started after seal 2 was made on 2025-06-01" in text(whole)
    # Seal 2 left out (as Gatehouse does when its row was deleted from the database, carrying seal 1 in its
    # place, or nothing when seal 1 went too): nothing would bound the run's start, and the prune would pass.
    for carried in ([1, 3, 4, 5], [3, 4, 5]):
        report = verifier.verify_export(export_lines(late_ledger, runs=["T-3"], pruned=("T-3",), carried=carried),
                                        [key.public_key()])
        assert not report.ok
        assert ("run T-3 is stated as pruned, but the export does not carry seal 2, the seal before seal 3 (the "
                "first to name the run), whose signed time bounds when the run started") in text(report)
    # Version 5 carried every seal: checked as before.
    assert "but the run started after seal 2" in text(verifier.verify_export(
        export_lines(late_ledger, runs=["T-3"], pruned=("T-3",), version=5), [key.public_key()]))


def test_an_export_of_every_run_must_carry_every_seal(late_ledger: Ledger, key):
    every = {"runs": ["T-1", "T-2", "T-3"], "filter": {}}  # what Gatehouse signs for an export of every run
    lines = resigned(export_lines(late_ledger), key, scope=every)
    assert verifier.verify_export(lines, [key.public_key()]).ok
    gapped = resigned(export_lines(late_ledger, carried=[1, 2, 4, 5]), key, scope=every)
    report = verifier.verify_export(gapped, [key.public_key()])
    assert ("the signed manifest is of an export of every run, which carries every seal up to seal 5, but it lists "
            "the seals 1-2, 4-5: seals were missing from Gatehouse's database (deleted)") in text(report)


@pytest.mark.parametrize("ranges", [[[1, 10**15]], [[1, 2], [4, 10**15]]])
def test_a_huge_signed_range_of_seals_fails_without_expanding_it(late_ledger: Ledger, key, ranges):
    lines = resigned(export_lines(late_ledger, runs=["T-1"]), key, seals=ranges)
    report = verifier.verify_export(lines, [key.public_key()])
    assert not report.ok
    assert "but the export carries 1-5: seal 6's line was removed" in text(report)


@pytest.mark.parametrize(("numbers", "missing"), [
    ([], None), ([1], None), ([1, 2, 3], None), ([2, 3], 1), ([1, 2, 4, 5], 3), ([1, 3], 2), ([0, 1, 3], 1),
    ([1, 2, 3, 9], 4),
])
def test_the_exporter_finds_a_seal_number_missing_from_the_database(numbers, missing):
    assert first_missing(numbers) == missing
