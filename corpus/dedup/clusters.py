"""Candidate pairs from LSH buckets, verified on the signatures, and union-find clusters.

Shared by the datatrove stages (``stages.py``) and the in-memory API (``api.py``), so documents
and prompts are clustered by the same code.

Nodes are uint64 numbers whose order is the survivor order: the smallest node of a cluster is the
document kept. The stages number nodes ``(source << 32) | position``, with index segments before
the new batch and the batch's tasks in input order, so the earliest document in input order
survives, and a document already in the index always beats a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bucket_pairs(
    keys: np.ndarray,
    nodes: np.ndarray,
    *,
    signatures: Callable[[np.ndarray], np.ndarray] | None,
    threshold: float,
    max_checks: int = 8,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``(a, b, jaccard)`` with ``a < b`` between nodes that share a key.

    Each node is compared with the earlier members of its bucket, first member first, until one
    verifies (estimated Jaccard >= threshold) or ``max_checks`` were tried: one edge per node is
    all union-find needs, and the work stays linear even for a bucket of thousands of boilerplate
    pages. ``signatures(nodes)`` gives the signature rows; None means equal keys are duplicates
    (exact hashing), reported with Jaccard 1.0. Nodes flagged in ``fixed`` (already indexed) never
    look for an earlier member: they are not deduplicated again.
    """
    empty = (np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.float32))
    if len(keys) < 2:
        return empty
    order = np.lexsort((nodes, keys))
    keys, nodes = keys[order], nodes[order]
    fixed = fixed[order] if fixed is not None else np.zeros(len(nodes), bool)
    new_group = np.empty(len(keys), bool)
    new_group[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_group[1:])
    start = np.maximum.accumulate(np.where(new_group, np.arange(len(keys)), 0))
    rank_in_group = np.arange(len(keys)) - start
    todo = np.flatnonzero((rank_in_group > 0) & ~fixed)
    out_a, out_b, out_j = [], [], []
    for check in range(max_checks):
        todo = todo[rank_in_group[todo] > check]
        if todo.size == 0:
            break
        other = start[todo] + check
        if signatures is None:
            sims = np.ones(todo.size, np.float32)
        else:
            sims = (signatures(nodes[other]) == signatures(nodes[todo])).mean(axis=1).astype(np.float32)
        ok = sims >= threshold
        out_a.append(nodes[other[ok]])
        out_b.append(nodes[todo[ok]])
        out_j.append(sims[ok])
        todo = todo[~ok]
    if not out_a:
        return empty
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_j)


class UnionFind:
    """Union-find over arbitrary uint64 nodes; the root of a set is always its smallest node.

    Making the smaller root the parent (instead of union by size) gives the survivor directly and
    deterministically; path halving keeps the trees shallow enough for millions of edges.
    """

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def survivors(self) -> dict[int, int]:
        """Every node that is not the smallest of its cluster, mapped to that smallest node."""
        return {x: root for x in self.parent if (root := self.find(x)) != x}


def cluster(a: np.ndarray, b: np.ndarray) -> dict[int, int]:
    """Union-find over the edges ``a[i] - b[i]``: duplicate node -> surviving node."""
    uf = UnionFind()
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        uf.union(x, y)
    return uf.survivors()
