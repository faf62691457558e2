"""The exact vector form of the engine for a platform whose quota never binds.

Without a binding quota every request is admitted on arrival, the launch token bucket
is a max-plus recursion with a closed form, and the rest is arithmetic. The result is
identical to the event engine's (tests check this); ``quota_binds`` says when it is not
valid.
"""

from __future__ import annotations

import numpy as np

from ..distributions import FloatArray
from ..intervals import peak_overlap, peak_weighted_overlap
from .admission import AdmissionResult, token_bucket_starts
from .model import TokenBucket


def run_vector(
    request_s: FloatArray, launch_latency_s: FloatArray, run_s: FloatArray, rate: TokenBucket | None
) -> AdmissionResult:
    """The rate limit, then admission as soon as the token is granted, launch and run."""
    token = token_bucket_starts(request_s, rate)
    ready = token + launch_latency_s
    return AdmissionResult(
        token,
        token.copy(),
        token.copy(),
        ready,
        ready + run_s,
        np.zeros(request_s.size, dtype=bool),
    )


def quota_binds(
    result: AdmissionResult,
    quota: int | None,
    resource_quotas: tuple[float | None, ...] = (),
    resource_use: list[FloatArray] | None = None,
) -> bool:
    """True if admitting everyone on arrival would ever exceed a quota."""
    if quota is not None and peak_overlap(result.admit_s, result.end_s) > quota:
        return True
    for capacity, use in zip(resource_quotas, resource_use or [], strict=True):
        if (
            capacity is not None
            and peak_weighted_overlap(result.admit_s, result.end_s, use) > capacity + 1e-9
        ):
            return True
    return False


def token_bucket_conforms(request_s: FloatArray, rate: TokenBucket) -> bool:
    """True if launching sorted requests on arrival never waits for a token.

    The bucket (capacity b, rate r, full at first) never runs dry if and only if, with
    y_k = r t_k - k, no earlier y exceeds a later one by more than b - 1.
    """
    if request_s.size == 0:
        return True
    y = rate.per_second * request_s - np.arange(request_s.size)
    return bool((np.maximum.accumulate(y) - y).max() <= rate.burst - 1 + 1e-9)
