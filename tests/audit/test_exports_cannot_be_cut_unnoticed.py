"""Entries cut off the end of a run are caught offline: by the run heads the seals signed (sealed
entries, reported as truncated) and by the export's signed manifest (every entry, sealed or not).
Forged manifests, stripped or edited seal heads and downgrades to the unsigned version 1 fail too; so do
entries cut from Gatehouse's database before the export, though the manifest then signs the shortened
run, because the manifest (version 4) signs which seal pins each run and that seal must keep its heads."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from audit.chain import entry_hash
from audit.sealing import CHAINS_CONTEXT, sign_chains, verify_chains_signature
from audit.signing import (
    MANIFEST_CONTEXT,
    SIGNING_CONTEXT,
    head_hash,
    key_id,
    sign_document,
    verify_document,
    verify_head,
)
from tests.audit.ledger_export_builder import (
    EXAMPLE_RUNS,
    Ledger,
    build_ledger,
    cut_run,
    export_lines,
    resign_manifest,
    signed_manifest,
)

# run: (the length a seal signed for it, that seal), in the example ledger (see EXAMPLE_RUNS)
SEALED = {"T-1": (8, 2), "T-2": (7, 2), "T-3": (7, 2)}


def verify(lines: list[bytes], public_keys: list, **options: bool) -> verifier.Report:
    return verifier.verify_export(lines, public_keys, **options)


def text(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


def edit(lines: list[bytes], kind: str, change, nth: int = 0) -> list[bytes]:
    """The lines with the `nth` line of type `kind` replaced by change(its object) (no re-signing)."""
    numbers = [n for n, line in enumerate(lines) if json.loads(line)["type"] == kind]
    edited = list(lines)
    obj = json.loads(lines[numbers[nth]])
    edited[numbers[nth]] = canonical_json(change(obj)) + b"\n"
    return edited


def strip_heads(seal: dict) -> dict:
    """A seal line without its run heads (chains), as exporters write seals that pin no exported run."""
    return {k: v for k, v in seal.items() if k not in ("chains", "chains_signature")}


def resign(lines: list[bytes], key: Ed25519PrivateKey, change) -> list[bytes]:
    """The lines with the manifest changed by change(its signed fields) and signed again with `key`."""
    manifest = json.loads(lines[-1])
    body = change({k: v for k, v in manifest.items() if k not in ("type", "key_id", "signature")})
    return [*lines[:-1], canonical_json(signed_manifest(body, key)) + b"\n"]


def test_an_untouched_export_verifies_and_says_it_is_complete(lines: list[bytes], public_keys: list) -> None:
    report = verify(lines, public_keys)
    assert report.ok, report.lines()
    assert "matches its signed manifest" in report.summary
    # Version 4 on: the manifest signs the format version and the newest seal that pins each run.
    header, manifest = json.loads(lines[0]), json.loads(lines[-1])
    assert header["version"] == manifest["version"] == 6
    assert manifest["pinned_by"] == {"T-1": 2, "T-2": 2, "T-3": 2}


@pytest.mark.parametrize("runs", [["T-1"], ["T-2", "T-3"], None])
def test_subset_exports_and_exports_without_seals_verify(ledger: Ledger, public_keys: list, keys, runs) -> None:
    assert verify(export_lines(ledger, runs=runs), public_keys).ok
    unsealed = build_ledger(EXAMPLE_RUNS, seal_sizes=[], keys=list(keys))
    report = verify(export_lines(unsealed, runs=runs), public_keys)
    assert report.ok, report.lines()
    assert "no seals" in report.summary and "matches its signed manifest" in report.summary


@pytest.mark.parametrize("run", sorted(EXAMPLE_RUNS))
def test_cutting_any_run_short_is_reported_as_truncated(lines: list[bytes], public_keys: list, run: str) -> None:
    sealed_length, seal_no = SEALED[run]
    for keep in range(EXAMPLE_RUNS[run]):
        report = verify(cut_run(lines, run, keep), public_keys)
        assert not report.ok, (run, keep)
        first = report.problems[0].message if keep else text(report)
        assert f"run {run} was truncated" in first, (run, keep, report.lines())
        if 0 < keep < sealed_length:  # the seal names it first, with how many sealed entries are gone
            assert first.endswith(f"({sealed_length - keep} missing; seal {seal_no} signed the run's length)")
        elif keep:  # only the manifest pins the unsealed tail
            length = EXAMPLE_RUNS[run]
            assert f"the signed manifest lists {length} entries" in first and f"({length - keep} missing)" in first


def test_a_manifest_signed_over_a_cut_run_is_still_caught_by_the_seals(
    ledger: Ledger, lines: list[bytes], public_keys: list
) -> None:
    # As if the newest entries had been deleted from Gatehouse's database before the export was made.
    report = verify(resign_manifest(cut_run(lines, "T-1", 5), ledger.key), public_keys)
    assert [p.message for p in report.problems] == [
        "run T-1 was truncated: it ends at entry 5, but its seal recorded 8 entries, so entries 6-8 of run "
        "T-1 were removed (3 missing; seal 2 signed the run's length)"
    ]


def test_a_database_cut_back_to_a_seal_boundary_fails_though_its_seal_heads_are_stripped(
    ledger: Ledger, public_keys: list
) -> None:
    # Entries 5-12 of T-1 deleted from Gatehouse's database and its run row rewritten before the export:
    # Gatehouse signs a manifest of the shortened run. Seal 2 signed T-1 at 8 entries but now covers none
    # of the export's entries, so nothing but the manifest's pinned_by requires its heads.
    cut = resign_manifest(cut_run(export_lines(ledger, runs=["T-1"]), "T-1", 4), ledger.key)
    assert json.loads(cut[-1])["runs"]["T-1"][0] == 4
    kept = verify(cut, public_keys)
    assert [p.message for p in kept.problems] == [
        "run T-1 was truncated: it ends at entry 4, but its seal recorded 8 entries, so entries 5-8 of run T-1 "
        "were removed (4 missing; seal 2 signed the run's length)"
    ]
    stripped = edit(cut, "seal", strip_heads, nth=1)
    seal_line = 1 + next(n for n, line in enumerate(stripped) if b'"seal_no":2,' in line)
    assert [(p.line, p.message) for p in verify(stripped, public_keys).problems] == [(
        seal_line,
        "seal 2 carries no signed run heads (chains), but the signed manifest says it is the newest seal to pin "
        "run T-1: its run heads were removed, which hides how long run T-1 was when seal 2 signed it. The "
        "export was altered after it was made; ask Gatehouse's operators for a new one",
    )]
    # Without seal 2's line at all (the counts edited to match), seal 2 is missing before anything else.
    objects = [json.loads(line) for line in stripped]
    dropped = [line for line, obj in zip(stripped, objects, strict=True)
               if not (obj["type"] == "seal" and obj["seal_no"] == 2 or obj["type"] == "consistency")]
    header = {**objects[0], "counts": {**objects[0]["counts"], "seals": 1, "consistency": 0}}
    report = verify([canonical_json(header) + b"\n", *dropped[1:]], public_keys)
    assert "the signed manifest says seal 2 is the newest seal to pin run T-1, but the export has no seal 2" in (
        text(report))


def test_a_seal_that_pins_a_run_the_manifest_does_not_name_fails(ledger: Ledger, public_keys: list) -> None:
    # Gatehouse lists every run some seal in the export pins: a manifest that names no seal, or an older
    # one, for a run a seal line pins does not belong with those seal lines.
    lines = export_lines(ledger, runs=["T-1"])
    seal_2 = 1 + next(n for n, line in enumerate(lines) if b'"seal_no":2,' in line)
    unnamed = verify(resign(lines, ledger.key, lambda body: {**body, "pinned_by": {}}), public_keys)
    assert [(p.line, p.message) for p in unnamed.problems] == [(
        seal_2,
        "seal 2 signed a head for run T-1, but the signed manifest names no seal as pinning run T-1 (Gatehouse "
        "names the newest seal that pins each exported run): the seal lines are not the ones exported with "
        "this manifest",
    )]
    older = verify(resign(lines, ledger.key, lambda body: {**body, "pinned_by": {"T-1": 1}}), public_keys)
    assert [(p.line, p.message) for p in older.problems] == [(
        seal_2,
        "seal 2 signed a head for run T-1, but the signed manifest names seal 1 as the newest seal to pin run T-1 "
        "(Gatehouse names the newest seal that pins each exported run): the seal lines are not the ones "
        "exported with this manifest",
    )]


def test_stripped_or_edited_seal_run_heads_fail(lines: list[bytes], public_keys: list) -> None:
    def strip(seal: dict) -> dict:
        return {k: v for k, v in seal.items() if k not in ("chains", "chains_signature")}

    stripped = verify(edit(cut_run(lines, "T-1", 5), "seal", strip, nth=1), public_keys)
    assert "seal 2 covers entry 5 of run T-1" in text(stripped)
    assert "the seal's run heads (chains) were removed" in text(stripped)

    def shorten(seal: dict) -> dict:
        return {**seal, "chains": {**seal["chains"], "T-1": [5, seal["chains"]["T-1"][1]]}}

    edited = verify(edit(lines, "seal", shorten, nth=1), public_keys)
    assert "seal 2's run heads (chains) do not match their signature" in text(edited)


def test_cutting_the_unsealed_tail_fails_against_the_manifest(lines: list[bytes], public_keys: list) -> None:
    report = verify(cut_run(lines, "T-2", 8), public_keys)
    assert [p.message for p in report.problems] == [
        "run T-2 was truncated: it ends at entry 8, but the signed manifest lists 9 entries, so entry 9 of run "
        "T-2 was removed (1 missing)"
    ]


def test_a_forged_manifest_fails(ledger: Ledger, lines: list[bytes], public_keys: list) -> None:
    cut = cut_run(lines, "T-2", 8)
    entry_8 = next(json.loads(line) for line in cut if b'"seq_run":8' in line and b'"run":"T-2"' in line)

    def match_the_cut(manifest: dict) -> dict:
        return {**manifest, "runs": {**manifest["runs"], "T-2": [8, entry_8["hash"]]}}

    edited = verify(edit(cut, "manifest", match_the_cut), public_keys)
    assert "the manifest's signature is not valid: the manifest was altered after export" in text(edited)

    attacker = Ed25519PrivateKey.generate()
    other_key = verify(resign_manifest(cut, attacker), public_keys)
    assert f"the manifest was signed by key {key_id(attacker.public_key())}, which is not among the public keys" in (
        text(other_key))

    def claim_the_ledger_key(manifest: dict) -> dict:
        return {**manifest, "key_id": key_id(ledger.key.public_key())}

    claimed = verify(edit(resign_manifest(cut, attacker), "manifest", claim_the_ledger_key), public_keys)
    assert "the manifest's signature is not valid" in text(claimed)

    seal = json.loads(next(line for line in lines if b'"type":"seal"' in line and b'"chains"' in line))

    def replay_a_seal_signature(manifest: dict) -> dict:
        return {**manifest, "signature": seal["chains_signature"]}

    assert "the manifest's signature is not valid" in text(verify(edit(cut, "manifest", replay_a_seal_signature),
                                                                  public_keys))


def test_a_missing_or_second_manifest_fails(lines: list[bytes], public_keys: list) -> None:
    assert b'"type":"manifest"' in lines[-1]
    missing = verify(lines[:-1], public_keys)
    assert "the export has no manifest line" in text(missing) and "export it again" in text(missing)
    doubled = verify([*lines, lines[-1]], public_keys)
    assert f"line {len(lines) + 1}: a second manifest" in text(doubled)


def without_seal_2(lines: list[bytes]) -> list[bytes]:
    """Seal 2, its consistency proof and the proofs into it removed, the counts edited to match."""
    objects = [json.loads(line) for line in lines]
    kept = [line for line, obj in zip(lines, objects, strict=True)
            if not (obj["type"] == "seal" and obj["seal_no"] == 2 or obj["type"] == "consistency"
                    or obj["type"] == "proof" and obj["seal_no"] == 2)]
    header = {**objects[0], "counts": {**objects[0]["counts"], "seals": 1, "consistency": 0,
                                       "proofs": sum(b'"type":"proof"' in line for line in kept)}}
    return [canonical_json(header) + b"\n", *kept[1:]]


def test_the_header_and_the_seals_must_be_what_the_manifest_signed(lines: list[bytes], ledger: Ledger,
                                                                   public_keys: list) -> None:
    def rescope(header: dict) -> dict:
        return {**header, "scope": {"runs": ["T-1"]}}

    assert "the header's scope differs from the signed manifest's" in text(verify(edit(lines, "header", rescope),
                                                                                  public_keys))
    # Version 6 signs which seals the export carries; version 5 carried every one, up to the newest it signs.
    report = text(verify(without_seal_2(lines), public_keys))
    assert "the signed manifest lists the seals 1-2, but the export carries 1: seal 2's line was removed" in report
    report = text(verify(without_seal_2(export_lines(ledger, version=5)), public_keys))
    assert "the manifest was signed when seal 2 was the newest, but the export's newest is seal 1" in report


def test_entries_or_runs_added_after_the_manifest_fail(lines: list[bytes], public_keys: list) -> None:
    last = json.loads(next(line for line in reversed(lines) if b'"run":"T-1"' in line and b'"seq_run":12' in line))
    forged = {k: v for k, v in last.items() if k not in ("type", "prev", "hash", "gseq", "redacted")}
    forged |= {"seq_run": 13}
    extra = {"type": "entry", **forged, "prev": last["hash"], "hash": entry_hash(forged, last["hash"]), "gseq": 500,
             "redacted": False}
    new_run = {**forged, "run": "T-9", "seq_run": 1}
    stranger = {"type": "entry", **new_run, "prev": "0" * 64, "hash": entry_hash(new_run, "0" * 64), "gseq": 501,
                "redacted": False}
    objects = [json.loads(line) for line in lines]
    header = {**objects[0], "counts": {**objects[0]["counts"], "entries": objects[0]["counts"]["entries"] + 2}}
    added = [canonical_json(header) + b"\n", *lines[1:], canonical_json(extra) + b"\n",
             canonical_json(stranger) + b"\n"]
    report = text(verify(added, public_keys))
    assert "run T-1 has 13 entries, but the signed manifest lists 12: entry 13 of run T-1 was added" in report
    assert "run T-9 is not in the signed manifest: its 1 entry was added to the export" in report


def test_a_version_1_export_is_checked_only_when_asked(lines: list[bytes], public_keys: list) -> None:
    # Downgraded: no manifest, no seal run heads, version 1, then cut. Nothing in it can show the cut.
    def old_seal(seal: dict) -> dict:
        return {k: v for k, v in seal.items() if k not in ("chains", "chains_signature")}

    downgraded = cut_run(lines[:-1], "T-1", 5)
    downgraded = edit(edit(edit(downgraded, "seal", old_seal), "seal", old_seal, nth=1), "header",
                      lambda header: {**header, "version": 1})
    refused = verify(downgraded, public_keys)
    assert [p.message for p in refused.problems] == [
        "this is a version 1 export, made before Gatehouse signed its exports: it cannot show that no entries "
        "were cut off the end of a run. Ask for a new export, or pass --allow-version-1 to check only what it holds"
    ]
    allowed = verify(downgraded, public_keys, allow_version_1=True)
    assert allowed.ok and any("version 1 export" in w for w in allowed.warnings)


def test_a_signature_over_one_kind_of_document_never_verifies_as_another(ledger: Ledger) -> None:
    key, public = ledger.key, ledger.key.public_key()
    head, _ = ledger.seals[-1]
    chains, _ = ledger.chains[-1]
    assert len({SIGNING_CONTEXT, CHAINS_CONTEXT, MANIFEST_CONTEXT}) == 3
    # A manifest signature over a body shaped like a seal's chains, or like a tree head, is neither.
    as_chains = sign_document(MANIFEST_CONTEXT, {"head": head_hash(head), "chains": chains}, key)
    assert not verify_chains_signature(head_hash(head), chains, as_chains, public)
    assert not verify_head(head, sign_document(MANIFEST_CONTEXT, head.to_dict(), key), public)
    # And a seal's chains signature is no manifest signature.
    signed_chains = sign_chains(head_hash(head), chains, key)
    assert verify_chains_signature(head_hash(head), chains, signed_chains, public)
    assert not verify_document(MANIFEST_CONTEXT, {"head": head_hash(head), "chains": chains}, signed_chains, public)
