"""pytest configuration; the builders live in support.py (import them from there)."""

from support import SHARED_DATA, scenario_dict, shared_data, theory_catalog, workload

__all__ = ["SHARED_DATA", "scenario_dict", "shared_data", "theory_catalog", "workload"]
