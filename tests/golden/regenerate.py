"""Rewrite the golden results after a deliberate model change; review the diff before
committing it. Run: python tests/golden/regenerate.py"""

from __future__ import annotations

import json
from pathlib import Path

from simulator import load_scenario, simulate

HERE = Path(__file__).resolve().parent
GOLDEN = {"gpu-fleet": {"replications": 2}}


def figures(name: str, replications: int) -> dict[str, object]:
    """The figures a golden test pins for one bundled scenario."""
    summary = simulate(load_scenario(name), replications=replications).summary()
    out: dict[str, object] = {"replications": replications, "platforms": {}}
    for platform_id, p in summary["platforms"].items():
        entry = {
            "launched": p["sandboxes"]["launched"],
            "cost_per_month": p["cost_usd"]["per_month"]["mean"],
            "by_component": {k: v["per_month"] for k, v in p["cost_usd"]["by_component"].items()},
            "time_to_ready_p50_s": p["time_to_ready_s"]["p50"],
        }
        if p["hosts"] is not None:
            entry["hosts"] = {k: p["hosts"][k] for k in ("mean", "peak", "host_hours")}
            entry["utilisation"] = p["utilisation"]
            entry["stranded"] = p["stranded"]
            entry["stranded_while_waiting"] = p["stranded_while_waiting"]
            entry["packing_efficiency"] = p["fleet"]["packing_efficiency"]
        out["platforms"][platform_id] = entry  # type: ignore[index]
    return out


if __name__ == "__main__":
    for name, options in GOLDEN.items():
        path = HERE / f"{name}.json"
        path.write_text(json.dumps(figures(name, **options), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")
