"""One seeded random-number tree per run: seed -> replication -> named stream.

Streams are addressed by names (workload or platform ids), not by position, so adding
a platform to a scenario does not change the workload another platform sees, and the
sampled workload of replication r is the same on every platform (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def label_key(label: str) -> int:
    """A stable 32-bit integer for a stream name (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:4], "big")


def seed_sequence(seed: int, replication: int, *labels: str) -> np.random.SeedSequence:
    """The node of the seed tree for one replication and a path of stream names."""
    return np.random.SeedSequence(seed, spawn_key=(replication, *(label_key(x) for x in labels)))


def stream(seed: int, replication: int, *labels: str) -> np.random.Generator:
    """An independent generator for one replication and stream, e.g. ("arrivals", "agent")."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, replication, *labels)))
