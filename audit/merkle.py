"""The ledger's Merkle tree, exactly as RFC 6962 / RFC 9162 §2.1 define it (the Certificate Transparency tree).

Leaves are the entries' hash bytes in gseq order. Sticking to the RFC means any CT tooling can check our
proofs, and the published CT test vectors check us.

Building is bottom-up over flat lists (a million leaves in about a second); roots and proofs for any
prefix of the tree come from the stored complete subtrees, recursing over index ranges only (depth log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _leaf_level(leaves: Sequence[bytes]) -> list[bytes]:
    return [_sha256(b"\x00" + data).digest() for data in leaves]


def _parent_level(level: list[bytes]) -> list[bytes]:
    # Pairs (0,1), (2,3), ...; a lone last node has no parent at this level.
    left, right = level[0:-1:2], level[1::2]
    return [_sha256(b"\x01" + a + b).digest() for a, b in zip(left, right, strict=False)]


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]); sha256(b"") for no leaves.

    Bottom-up: carrying a level's lone last node up unchanged gives the same tree as the RFC's
    split at the largest power of two below n.
    """
    if not leaves:
        return EMPTY_ROOT
    level = _leaf_level(leaves)
    while len(level) > 1:
        parents = _parent_level(level)
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0]


class MerkleTree:
    """Every complete subtree of a list of leaves, so the root of any prefix and any proof are cheap.

    Proofs for an older, smaller tree (a previous seal) come from the same levels: a seal's tree is a
    prefix of today's.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        levels = [_leaf_level(leaves)]
        while len(levels[-1]) > 1:
            levels.append(_parent_level(levels[-1]))
        self._levels = levels

    def root(self, tree_size: int | None = None) -> bytes:
        size = self._check_size(tree_size)
        return self._hash(0, size)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """PATH(index, D[tree_size]) from RFC 9162 §2.1.3.1, nearest sibling first."""
        size = self._check_size(tree_size)
        if not 0 <= index < size:
            raise IndexError(f"leaf {index} is not in a tree of size {size}")
        proof: list[bytes] = []
        self._path(index, 0, size, proof)
        return proof

    def consistency_proof(self, old_size: int, tree_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[tree_size]) from RFC 9162 §2.1.4.1; empty when old_size is 0 or tree_size."""
        size = self._check_size(tree_size)
        if not 0 <= old_size <= size:
            raise ValueError(f"cannot prove a tree of size {old_size} is a prefix of one of size {size}")
        proof: list[bytes] = []
        if 0 < old_size < size:
            self._subproof(old_size, 0, size, True, proof)
        return proof

    def _check_size(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self.size
        if not 0 <= tree_size <= self.size:
            raise ValueError(f"tree size {tree_size} is outside 0..{self.size}")
        return tree_size

    def _hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end])."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self._levels[n.bit_length() - 1][start // n]
        k = _largest_power_of_two_below(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def _path(self, m: int, start: int, end: int, out: list[bytes]) -> None:
        n = end - start
        if n == 1:
            return
        k = _largest_power_of_two_below(n)
        if m < k:
            self._path(m, start, start + k, out)
            out.append(self._hash(start + k, end))
        else:
            self._path(m - k, start + k, end, out)
            out.append(self._hash(start, start + k))

    def _subproof(self, m: int, start: int, end: int, complete: bool, out: list[bytes]) -> None:
        n = end - start
        if m == n:
            if not complete:
                out.append(self._hash(start, end))
            return
        k = _largest_power_of_two_below(n)
        if m <= k:
            self._subproof(m, start, start + k, complete, out)
            out.append(self._hash(start + k, end))
        else:
            self._subproof(m - k, start + k, end, False, out)
            out.append(self._hash(start, start + k))


class FrontierTree(MerkleTree):
    """A tree known by the complete subtrees over its first leaves (a seal's frontier: (size, root),
    largest first) and the leaves after them: its root, proofs for those later leaves, and the
    consistency proof from the frontier's tree to this one.

    What a seal's proofs need: its tree is the previous seal's plus the leaves sealed since, and every
    node such a proof uses left of the previous seal's size is one of that seal's frontier subtrees.
    So proofs read one seal's range of leaves, and hold one seal's range in memory, not every leaf
    ever sealed.
    """

    def __init__(self, known: Sequence[tuple[int, bytes]], leaves: Sequence[bytes]) -> None:
        self._known: dict[tuple[int, int], bytes] = {}
        start = 0
        for size, root in known:
            self._known[start, start + size] = root
            start += size
        self.known_size = start
        self.size = start + len(leaves)
        # The complete subtrees inside the later leaves, aligned as in the whole tree: level j holds the
        # roots of leaves [i * 2**j, (i + 1) * 2**j) for i from its first index on.
        first, level = start, _leaf_level(leaves)
        self._tail: list[tuple[int, list[bytes]]] = []
        while level:
            self._tail.append((first, level))
            if first % 2:  # its sibling is left of the later leaves: no parent among them
                first, level = first + 1, level[1:]
            first, level = first // 2, _parent_level(level)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        if index < self.known_size:
            raise IndexError(f"leaf {index} is inside the frontier's {self.known_size} leaves: only later ones are known")
        return super().inclusion_proof(index, tree_size)

    def _hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if end <= self.known_size:
            if (start, end) in self._known:
                return self._known[start, end]
            if n == 1:  # a leaf inside a frontier node: the frontier does not hold it
                raise ValueError(f"leaf {start} is inside one of the frontier's subtrees: it is not known")
            # Several frontier nodes (the RFC's split falls on the frontier's boundaries), split below.
        elif start >= self.known_size and n & (n - 1) == 0 and start % n == 0:
            first, level = self._tail[n.bit_length() - 1]
            return level[start // n - first]
        k = _largest_power_of_two_below(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Proof that leaf ``index`` is in the tree of all ``leaves`` (build a MerkleTree to prove many)."""
    return MerkleTree(leaves).inclusion_proof(index)


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Proof that the tree of the first ``m`` leaves is a prefix of the tree of all ``leaves``."""
    return MerkleTree(leaves).consistency_proof(m)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2. ``leaf`` is the leaf's data (an entry's hash bytes), not its leaf hash."""
    if not isinstance(leaf, bytes) or not _is_hash(root) or not all(_is_hash(p) for p in proof):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: the tree of size ``m`` with ``old_root`` is a prefix of size ``n``'s ``new_root``."""
    if not _is_hash(old_root) or not _is_hash(new_root) or not all(_is_hash(p) for p in proof):
        return False
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        # Everything extends the empty tree; there is nothing to prove.
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # the old tree is a complete subtree, so the proof leaves its root out
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
