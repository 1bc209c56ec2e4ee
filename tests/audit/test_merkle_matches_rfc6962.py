"""The ledger's Merkle tree is RFC 6962's: published vectors, a naive reference, and proofs that fail on tampering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    FrontierTree,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from audit.sealing import Frontier

# Certificate Transparency's reference leaves and the root for each tree size 0..8 (RFC 6962 test data).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # (index, size) -> path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {  # (old size, new size) -> proof
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


# --- An independent, deliberately naive reference: the RFC's recursive definitions, word for word. ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_root(d: list[bytes]) -> bytes:
    if not d:
        return _sha(b"")
    if len(d) == 1:
        return _sha(b"\x00" + d[0])
    k = _k(len(d))
    return _sha(b"\x01" + ref_root(d[:k]) + ref_root(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_root(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_root(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_root(d)]
    k = _k(len(d))
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_root(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_root(d[:k])]


def leaves_for(n: int) -> list[bytes]:
    return [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(n)]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


# --- Published vectors ---


def test_roots_match_the_published_vectors() -> None:
    for size, expected in enumerate(CT_ROOTS):
        assert merkle_root(CT_LEAVES[:size]).hex() == expected
        assert MerkleTree(CT_LEAVES).root(size).hex() == expected
    assert merkle_root([]) == EMPTY_ROOT


def test_proofs_match_the_published_vectors() -> None:
    for (index, size), path in CT_INCLUSION.items():
        assert [p.hex() for p in inclusion_proof(index, CT_LEAVES[:size])] == path
        root = bytes.fromhex(CT_ROOTS[size])
        assert verify_inclusion(CT_LEAVES[index], index, size, [bytes.fromhex(p) for p in path], root)
    for (old, new), path in CT_CONSISTENCY.items():
        assert [p.hex() for p in consistency_proof(old, CT_LEAVES[:new])] == path
        old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
        assert verify_consistency(old, new, old_root, new_root, [bytes.fromhex(p) for p in path])


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"") == _sha(b"\x00")
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == _sha(b"\x01" + a + b) != node_hash(b, a)


# --- Against the reference, every index of every size 1..40 ---


def test_roots_and_proofs_match_the_reference_for_sizes_1_to_40() -> None:
    leaves = leaves_for(40)
    tree = MerkleTree(leaves)
    for n in range(1, 41):
        d = leaves[:n]
        assert merkle_root(d) == tree.root(n) == ref_root(d)
        for i in range(n):
            assert tree.inclusion_proof(i, n) == inclusion_proof(i, d) == ref_path(i, d)
        for m in range(1, n):
            assert tree.consistency_proof(m, n) == consistency_proof(m, d) == ref_subproof(m, d, True)


def test_every_inclusion_proof_verifies_and_tampering_fails() -> None:
    leaves = leaves_for(40)
    tree = MerkleTree(leaves)
    for n in range(1, 41):
        root = tree.root(n)
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert verify_inclusion(leaves[i], i, n, proof, root)
            assert not verify_inclusion(flipped(leaves[i]), i, n, proof, root)
            assert not verify_inclusion(leaves[i], i, n, proof, flipped(root))
            if n < 40:  # a proof against size n must not verify against the next tree's root
                assert not verify_inclusion(leaves[i], i, n + 1, proof, tree.root(n + 1))
            assert not verify_inclusion(leaves[i], n, n, proof, root)
            assert not verify_inclusion(leaves[i], -1, n, proof, root)
            assert not verify_inclusion(leaves[i], i, n, [*proof, b"\x00" * 32], root)
            if proof:
                assert not verify_inclusion(leaves[i], i, n, proof[:-1], root)
                for j in range(len(proof)):
                    bad = proof[:j] + [flipped(proof[j])] + proof[j + 1 :]
                    assert not verify_inclusion(leaves[i], i, n, bad, root)
            if n > 1:
                other = (i + 1) % n
                assert not verify_inclusion(leaves[i], other, n, proof, root)


def test_every_consistency_proof_verifies_and_tampering_fails() -> None:
    leaves = leaves_for(40)
    tree = MerkleTree(leaves)
    roots = [tree.root(n) for n in range(41)]
    for n in range(1, 41):
        for m in range(0, n + 1):
            proof = tree.consistency_proof(m, n)
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if 0 < m < n:
                assert not verify_consistency(m, n, flipped(roots[m]), roots[n], proof)
                assert not verify_consistency(m, n, roots[m], flipped(roots[n]), proof)
                assert not verify_consistency(m, n, roots[m], roots[n], proof[:-1])
                assert not verify_consistency(m, n, roots[m], roots[n], [*proof, b"\x00" * 32])
                assert not verify_consistency(n, m, roots[n], roots[m], proof)
                for j in range(len(proof)):
                    bad = proof[:j] + [flipped(proof[j])] + proof[j + 1 :]
                    assert not verify_consistency(m, n, roots[m], roots[n], bad)
                # A tree that rewrote one of the first m leaves is not an extension.
                forged = MerkleTree([flipped(leaves[0]), *leaves[1:n]])
                assert not verify_consistency(m, n, roots[m], forged.root(), forged.consistency_proof(m))


def test_degenerate_consistency_cases() -> None:
    root = merkle_root(leaves_for(4))
    assert verify_consistency(4, 4, root, root, [])
    assert not verify_consistency(4, 4, root, flipped(root), [])
    assert not verify_consistency(4, 4, root, root, [root])
    assert verify_consistency(0, 4, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 4, root, root, [])


@settings(max_examples=60, deadline=None)
@given(
    leaves=st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=70),
    data=st.data(),
)
def test_property_proofs_agree_with_the_reference_and_verify(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    tree = MerkleTree(leaves)
    assert tree.root() == merkle_root(leaves) == ref_root(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(index)
    assert proof == ref_path(index, leaves)
    assert verify_inclusion(leaves[index], index, n, proof, tree.root())
    assert not verify_inclusion(leaves[index] + b"x", index, n, proof, tree.root())
    m = data.draw(st.integers(0, n))
    cproof = tree.consistency_proof(m)
    assert verify_consistency(m, n, tree.root(m), tree.root(), cproof)
    if 0 < m < n:
        assert cproof == ref_subproof(m, leaves, True)
        assert not verify_consistency(m, n, tree.root(m), tree.root(), [flipped(cproof[0]), *cproof[1:]])


def test_a_million_leaves_are_handled() -> None:
    leaves = [i.to_bytes(32, "big") for i in range(1_000_000)]
    tree = MerkleTree(leaves)
    root = tree.root()
    assert root == merkle_root(leaves)
    for index in (0, 123_456, 999_999):
        assert verify_inclusion(leaves[index], index, len(leaves), tree.inclusion_proof(index), root)
    assert verify_consistency(700_001, 1_000_000, tree.root(700_001), root, tree.consistency_proof(700_001))


def _frontier_tree(leaves: list[bytes], known: int) -> FrontierTree:
    # The previous seal's frontier exactly as sealing keeps it, then the leaves sealed since.
    frontier = Frontier(0, [])
    for leaf in leaves[:known]:
        frontier.append(leaf)
    return FrontierTree(frontier.nodes, leaves[known:])


def test_a_seal_proves_its_own_leaves_from_the_previous_frontier_alone() -> None:
    """Proofs read one seal's range: every size and split up to 70 leaves gives the full tree's root, the
    inclusion proof of every leaf after the previous seal, and the consistency proof from that seal."""
    for n in range(1, 71):
        leaves = [bytes([i]) * 3 for i in range(n)]
        full = MerkleTree(leaves)
        for known in range(n):
            tree = _frontier_tree(leaves, known)
            assert tree.root() == full.root()
            assert tree.consistency_proof(known) == full.consistency_proof(known)
            for index in range(known, n):
                assert tree.inclusion_proof(index) == full.inclusion_proof(index)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 5000), data=st.data())
def test_property_frontier_proofs_match_the_full_tree(n: int, data: st.DataObject) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    known = data.draw(st.integers(0, n - 1))
    index = data.draw(st.integers(known, n - 1))
    tree, full = _frontier_tree(leaves, known), MerkleTree(leaves)
    assert tree.root() == full.root()
    assert tree.inclusion_proof(index) == full.inclusion_proof(index)
    assert verify_inclusion(leaves[index], index, n, tree.inclusion_proof(index), full.root())
    assert tree.consistency_proof(known) == full.consistency_proof(known)


def test_a_frontier_tree_refuses_leaves_it_does_not_hold() -> None:
    tree = _frontier_tree([bytes([i]) for i in range(10)], 7)
    with pytest.raises(IndexError, match="inside the frontier"):
        tree.inclusion_proof(6)


def test_a_frontier_tree_without_later_leaves_is_the_frontiers_tree() -> None:
    for known in range(0, 40):
        leaves = [bytes([i]) for i in range(known)]
        assert _frontier_tree(leaves, known).root() == MerkleTree(leaves).root()
