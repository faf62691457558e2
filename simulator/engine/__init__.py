"""The discrete-event engine: admission under a quota, launch rate limit, launch, run.

It knows nothing of prices, files or plots: it turns a sampled workload and a
platform model into a ``Usage`` table.
"""

from .model import PlatformModel
from .run import run_platform

__all__ = ["PlatformModel", "run_platform"]
