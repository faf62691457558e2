"""pytest configuration; the builders live in support.py (import them from there).

Hypothesis runs derandomized (the same examples every run, like the fixed seeds of the
statistical tests); set SANDSIM_HYPOTHESIS=explore to search with fresh random examples.
"""

import os

from hypothesis import settings

from support import SHARED_DATA, scenario_dict, shared_data, theory_catalog, workload

settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile("explore" if os.environ.get("SANDSIM_HYPOTHESIS") == "explore" else "ci")

__all__ = ["SHARED_DATA", "scenario_dict", "shared_data", "theory_catalog", "workload"]
