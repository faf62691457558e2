"""Fixed host inventories and per-request shapes from a trace: the Alibaba GPU cluster
replayed on its own nodes, heterogeneous hosts never over capacity, and clear errors."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fleet import peak_load

from simulator import plots
from simulator.distributions import Fixed
from simulator.engine.activations import Activations
from simulator.engine.fleet import FleetEngine, FleetModel, FleetRecord, HostKindModel
from simulator.errors import InputError, InputErrors
from simulator.fleet_metrics import hosts_over_time
from simulator.gpus import GpuNeed
from simulator.runner import simulate
from simulator.scenario import scenario_from_dict
from simulator.summary import write_outputs
from support import REPO, burst, scenario_dict, shared_data, workload

REPLAY = REPO / "tests" / "replay" / "alibaba-gpu-v2023.yaml"


def _replay_scenario() -> dict[str, Any]:
    """The replay scenario with its data paths pointed at the reference data folder."""
    folder = shared_data("traces", "alibaba_gpu_v2023")
    data = yaml.safe_load(REPLAY.read_text())
    data["workloads"][0]["arrivals"]["path"] = str(folder / "openb_pod_list_default.csv")
    inventory = data["platforms"][0]["fleet"]["inventory"]["file"]
    inventory["path"] = str(folder / "openb_node_list_all_node.csv")
    return data


def test_alibaba_gpu_trace_replay_matches_the_file() -> None:
    """Every task of the trace runs on the cluster's own 1,523 nodes, with its own shape,
    and the GPU-seconds the fleet ran equal the exact sum over the file's tasks."""
    folder = shared_data("traces", "alibaba_gpu_v2023")
    pods = pd.read_csv(folder / "openb_pod_list_default.csv")
    nodes = pd.read_csv(folder / "openb_node_list_all_node.csv")
    # independent computation from the file: a task of one GPU below 1000 milli-GPU
    # shares it; otherwise it holds num_gpu whole GPUs, from creation to deletion
    sharing = (pods["num_gpu"] == 1) & (pods["gpu_milli"] < 1000)
    gpus = np.where(sharing, pods["gpu_milli"] / 1000.0, pods["num_gpu"])
    expected_gpu_s = float((gpus * (pods["deletion_time"] - pods["creation_time"])).sum())

    result = simulate(scenario_from_dict(_replay_scenario()))
    summary = result.summary()["platforms"]["openb-cluster"]
    assert summary["sandboxes"]["launched"] == len(pods)
    assert summary["fleet"]["gpu_hours"] * 3600.0 == pytest.approx(expected_gpu_s, rel=1e-9)
    assert sum(summary["fleet"]["inventory"].values()) == len(nodes)
    kinds = nodes.fillna({"model": ""}).groupby(["cpu_milli", "memory_mib", "gpu", "model"]).size()
    assert len(summary["fleet"]["inventory"]) == len(kinds)
    assert summary["hosts"]["peak"] == len(nodes)
    # the fleet record: every task placed, on a host that had room for it
    usage = result.runs["openb-cluster"][0].usage
    assert usage is not None
    assert usage.fleet is not None
    record = usage.fleet
    resolved = result.platform("openb-cluster").fleet
    assert resolved is not None
    assert len(resolved.demand_per_class) == 1 + len(
        pods[["cpu_milli", "memory_mib", "num_gpu", "gpu_milli"]]
        .assign(gpu_milli=np.where(sharing, pods["gpu_milli"], 0))
        .drop_duplicates()
    )
    assert (record.host_of >= 0).all()
    assert record.class_of is not None
    demand = np.asarray(resolved.demand_per_class)[record.class_of]
    units = np.asarray(resolved.gpu_units_per_class)[record.class_of]
    for host in np.unique(record.host_of):
        on = record.host_of == host
        kind = resolved.kinds[int(record.kind_of[host])]
        start, end = usage.admit_s[on], usage.end_s[on]
        assert peak_load(start, end, demand[on, 0]) <= kind.capacity[0] + 1e-6
        assert peak_load(start, end, demand[on, 1]) <= kind.capacity[1] + 1e-6
        assert peak_load(start, end, units[on]) <= kind.gpus + 1e-6


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(10, 120),
    policy=st.sampled_from(["first_fit", "best_fit", "worst_fit", "dot_product"]),
    seed=st.integers(0, 10_000),
)
def test_heterogeneous_hosts_never_over_capacity(n: int, policy: str, seed: int) -> None:
    """Sandboxes of mixed shapes on a fixed inventory of three kinds of host: no host ever
    holds more than its own kind offers, and GPU-typed work runs only on its GPU type."""
    rng = np.random.default_rng(seed)
    kinds = (
        HostKindModel("small", (16.0, 64.0), 0),
        HostKindModel("big", (96.0, 384.0), 0),
        HostKindModel("gpu", (48.0, 192.0), 4, "a100-40gb"),
    )
    demands = [(2.0, 8.0), (12.0, 40.0), (8.0, 32.0), (4.0, 16.0)]
    needs = [GpuNeed(), GpuNeed(), GpuNeed(whole=1), GpuNeed(share=0.5)]
    model = FleetModel(
        host_type="inventory",
        capacity=(96.0, 384.0),
        gpus=0,
        placement=policy,  # type: ignore[arg-type]
        min_hosts=5,
        max_hosts=5,
        target_utilisation=1.0,
        scale_out_when_waiting=False,
        boot_time=Fixed(value=0.0),
        idle_cooldown_s=60.0,
        interval_s=30.0,
        committed_hosts=0,
        spot_share=0.0,
        spot_interruptions_per_s=0.0,
        demand_per_class=tuple(demands),
        gpu_need_per_class=tuple(needs),
        kinds=kinds,
        inventory=(0, 0, 1, 2, 2),
        gpu_type_per_class=(None, None, "a100-40gb", None),
    )
    request = np.cumsum(rng.exponential(2.0, n))
    run = rng.exponential(60.0, n)
    which = rng.integers(0, len(demands), n)
    acts = Activations.one_shot(request, run)
    acts.workload_index[:] = which
    engine = FleetEngine(
        acts, run, np.zeros(n), model, rng, float(request[-1]) + 1e4, which.astype(np.int64)
    )
    result = engine.run()
    record = engine.record()
    assert not np.isnan(result.admit_s).any()  # every shape fits some kind; all ran
    demand = np.asarray(demands)[which]
    units = np.array([need.units for need in needs])[which]
    for host in np.unique(record.host_of):
        on = record.host_of == host
        kind = kinds[int(record.kind_of[host])]
        start, end = result.admit_s[on], result.end_s[on]
        assert peak_load(start, end, demand[on, 0]) <= kind.capacity[0] + 1e-6
        assert peak_load(start, end, demand[on, 1]) <= kind.capacity[1] + 1e-6
        assert peak_load(start, end, units[on]) <= kind.gpus + 1e-6
        if (which[on] == 2).any():
            assert kind.gpu_type == "a100-40gb"
    assert record.started_s.size == 5
    assert (record.started_s == 0).all()


def _inventory_scenario(**fleet: Any) -> dict[str, Any]:
    spec = {"host_prices": "aws-ec2-us-east-1", **fleet}
    return scenario_dict(
        horizon="2h",
        replications=1,
        workloads=[
            workload(
                arrivals={"kind": "burst", "count": 60, "at": "10m", "window": "20m"},
                duration={"kind": "exponential", "mean": "10m"},
                shape={"vcpu": 4, "memory": "16GiB"},
            )
        ],
        platforms=[{"profile": "firecracker", "id": "fleet", "fleet": spec}],
    )


def _node_file(nodes: Path, gpus: bool) -> dict[str, Any]:
    """An inventory file spec for a node list with cpu_milli and memory_mib columns (and
    gpu and model columns, with ``gpus``)."""
    spec: dict[str, Any] = {
        "path": str(nodes),
        "vcpu": {"column": "cpu_milli", "scale": 0.001},
        "memory": {"column": "memory_mib", "scale": 1 / 1024},
    }
    if gpus:
        spec.update(gpus={"column": "gpu"}, gpu_type_column="model")
    return spec


def test_inventory_of_one_type_equals_a_fixed_autoscaled_fleet() -> None:
    """Three m5.metal hosts as an inventory, or an autoscaled fleet held at three hosts:
    the same placements, hosts and bill (metamorphic)."""
    fixed = simulate(
        scenario_from_dict(
            _inventory_scenario(inventory={"groups": [{"host_type": "m5.metal", "count": 3}]})
        )
    )
    scaled = simulate(
        scenario_from_dict(
            _inventory_scenario(
                host_type="m5.metal",
                autoscaling={"min_hosts": 3, "max_hosts": 3, "target_utilisation": 1.0},
            )
        )
    )
    a, b = fixed.summary()["platforms"]["fleet"], scaled.summary()["platforms"]["fleet"]
    assert a["cost_usd"] == b["cost_usd"]
    assert a["hosts"]["mean"] == pytest.approx(b["hosts"]["mean"])
    for resource in ("vcpu", "memory"):  # the same integrals, summed in another order
        assert a["utilisation"][resource] == pytest.approx(b["utilisation"][resource], rel=1e-12)
    assert a["fleet"]["inventory"] == {"m5.metal": 3}
    # three hosts for two hours at the on-demand rate
    assert fixed.line_items()["cost_usd"].sum() == pytest.approx(3 * 2 * 4.608, rel=1e-12)


def test_mixed_inventory_bills_each_kind_at_its_rate() -> None:
    """Two m5.metal and one c5.metal: the bill is each host's own rate for the horizon,
    and showback rows name the kind of host, adding up to the bill with the idle line."""
    result = simulate(
        scenario_from_dict(
            _inventory_scenario(
                inventory={
                    "groups": [
                        {"host_type": "m5.metal", "count": 2},
                        {"host_type": "c5.metal", "count": 1},
                    ]
                },
                placement="worst_fit",
            )
        )
    )
    items = result.line_items()
    c5_usd_per_hour = 4.08
    assert items["cost_usd"].sum() == pytest.approx(2 * (2 * 4.608 + c5_usd_per_hour), rel=1e-12)
    held = items[items["component"] != "idle"]
    assert {i.split(":")[1] for i in held["item"]} == {"m5.metal", "c5.metal"}
    assert (held["quantity"] * held["rate_usd"]).sum() == pytest.approx(held["gross_usd"].sum())
    # hosts over time by type (and by how they were bought): all three from the start
    metrics = result.runs["fleet"][0].metrics.fleet
    assert metrics is not None
    timeline = hosts_over_time(metrics.record)
    assert timeline.to_dict("records") == [
        {"time_s": 0.0, "hosts_on_demand": 3, "type_c5.metal": 1, "type_m5.metal": 2, "hosts": 3}
    ]


def test_hosts_over_time_name_how_an_inventory_was_bought(tmp_path: Path) -> None:
    """An inventory bought reserved_1y: hosts.csv counts its hosts as hosts_reserved_1y,
    as docs/outputs.md says, and the hosts figure's legend says reserved_1y (both said
    on_demand, the label inventory hosts carried inside the engine, while the bill and
    summary.json's by_purchase priced them reserved: 2 x 2 h at $2.765)."""
    result = simulate(
        scenario_from_dict(
            _inventory_scenario(
                inventory={"groups": [{"host_type": "m5.metal", "count": 2}]},
                purchase="reserved_1y",
            )
        )
    )
    assert result.line_items()["cost_usd"].sum() == pytest.approx(2 * 2 * 2.765, rel=1e-12)
    by_purchase = result.summary()["platforms"]["fleet"]["hosts"]["by_purchase"]
    assert list(by_purchase) == ["reserved_1y"]
    write_outputs(result, tmp_path)
    hosts = pd.read_csv(tmp_path / "hosts.csv")
    assert list(hosts.columns) == [
        "time_s",
        "hosts_reserved_1y",
        "type_m5.metal",
        "hosts",
        "platform",
    ]
    assert hosts["hosts_reserved_1y"].tolist() == [2]
    legend = plots.fleet_hosts(result, "fleet").axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["reserved_1y"]


def test_inventory_of_one_kind_reports_its_capacity_per_host() -> None:
    """docs/outputs.md: capacity_per_host is null only for an inventory of several kinds.
    An inventory of one kind gives its host's room, as an autoscaled fleet of that type
    does (it was null for every inventory, though hosts.type names the one kind)."""
    room = {"vcpu": 188.0, "memory_gib": 376.0, "gpus": 0}
    fleet = {"overcommit": {"vcpu": 2}, "reserved_for_system": {"vcpu": 2, "memory": "8GiB"}}
    one = _inventory_scenario(
        inventory={"groups": [{"host_type": "m5.metal", "count": 2}]}, **fleet
    )
    summary = simulate(scenario_from_dict(one)).summary()["platforms"]["fleet"]
    assert summary["hosts"]["type"] == "m5.metal"
    assert summary["fleet"]["capacity_per_host"] == room
    groups = [{"host_type": "m5.metal", "count": 1}, {"host_type": "c5.metal", "count": 1}]
    mixed = _inventory_scenario(inventory={"groups": groups}, **fleet)
    summary = simulate(scenario_from_dict(mixed)).summary()["platforms"]["fleet"]
    assert summary["hosts"]["type"] == "inventory"
    assert summary["fleet"]["capacity_per_host"] is None


def test_inventory_groups_of_one_type_count_every_host() -> None:
    """Two groups of m5.metal are one kind of three hosts: the summary counted 2 (the
    later group's count overwrote the earlier's) while the bill was for 3."""
    groups = [{"host_type": "m5.metal", "count": 1}, {"host_type": "m5.metal", "count": 2}]
    result = simulate(scenario_from_dict(_inventory_scenario(inventory={"groups": groups})))
    fleet = result.summary()["platforms"]["fleet"]["fleet"]
    assert fleet["inventory"] == {"m5.metal": 3}
    assert result.line_items()["cost_usd"].sum() == pytest.approx(3 * 2 * 4.608, rel=1e-12)


def test_inventory_hosts_alike_but_for_price_are_kept_apart(tmp_path: Path) -> None:
    """Three hosts of one size at $4, $2 and $2 an hour: two kinds, named with their
    prices, counted apart, each billed and shown back at its own rate (the two kinds
    once shared a name: the count read 2 and the line items merged at one rate)."""
    nodes = tmp_path / "inventory.csv"
    nodes.write_text("node,cpu,mem,price\nn1,96,384,4.0\nn2,96,384,2.0\nn3,96,384,2.0\n")
    file = {
        "path": str(nodes),
        "vcpu": {"column": "cpu"},
        "memory": {"column": "mem"},
        "usd_per_hour_column": "price",
    }
    data = _inventory_scenario(inventory={"file": file}, placement="worst_fit")
    result = simulate(scenario_from_dict(data))
    fleet = result.summary()["platforms"]["fleet"]["fleet"]
    assert fleet["inventory"] == {
        "96vcpu-384gib-2usd-per-hour": 2,
        "96vcpu-384gib-4usd-per-hour": 1,
    }
    items = result.mean_line_items()
    assert items["cost_usd"].sum() == pytest.approx(2 * (4.0 + 2.0 + 2.0), rel=1e-12)
    vcpu = items[items["component"] == "vcpu"].set_index("item")
    assert set(vcpu.index) == {
        "host:96vcpu-384gib-4usd-per-hour:vcpu",
        "host:96vcpu-384gib-2usd-per-hour:vcpu",
    }
    rates = vcpu["rate_usd"]
    assert rates["host:96vcpu-384gib-4usd-per-hour:vcpu"] == pytest.approx(
        2 * rates["host:96vcpu-384gib-2usd-per-hour:vcpu"], rel=1e-12
    )
    assert np.allclose(vcpu["quantity"] * rates, vcpu["gross_usd"], rtol=1e-12)
    # prices that differ beyond the digits a name shows are numbered apart
    nodes.write_text("node,cpu,mem,price\nn1,96,384,4.6080001\nn2,96,384,4.6080004\n")
    kinds = simulate(scenario_from_dict(data)).summary()["platforms"]["fleet"]["fleet"]
    assert kinds["inventory"] == {
        "96vcpu-384gib-4.608usd-per-hour-1": 1,
        "96vcpu-384gib-4.608usd-per-hour-2": 1,
    }


def test_unpriced_inventory_plots_its_spend_without_warnings(tmp_path: Path) -> None:
    """Hosts without a price cost nothing: the spend figure says so, where it asked
    matplotlib for a legend of no bars (a warning in every report of a trace replay)."""
    nodes = tmp_path / "inventory.csv"
    nodes.write_text("node,cpu,mem\nn1,96,384\nn2,96,384\n")
    file = {"path": str(nodes), "vcpu": {"column": "cpu"}, "memory": {"column": "mem"}}
    result = simulate(scenario_from_dict(_inventory_scenario(inventory={"file": file})))
    assert result.mean_line_items()["cost_usd"].sum() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plots.spend_by_component(result)
    axes = figure.axes[0]
    assert axes.get_legend() is None
    assert [text.get_text() for text in axes.texts] == ["no spend: every line item is 0"]


def test_inventory_work_after_the_horizon_costs_nothing_more() -> None:
    """An inventory's hosts are paid for the whole horizon: jobs still running at its end
    add no tail, the bill is hosts x horizon x rate, and the sandboxes are shown back
    what they held within it (the engine's integral), the idle line the rest."""
    data = _inventory_scenario(
        inventory={"groups": [{"host_type": "m5.metal", "count": 2}]}, purchase="reserved_1y"
    )
    data["workloads"][0]["arrivals"] = {"kind": "burst", "count": 40, "at": "90m", "window": "20m"}
    data["workloads"][0]["duration"] = {"kind": "fixed", "value": "1h"}
    result = simulate(scenario_from_dict(data), keep_usage=True)
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    assert usage.fleet is not None
    assert np.nanmax(usage.end_s) > 2 * 3600  # work runs on after the horizon
    assert not usage.fleet.grows
    assert not usage.fleet.tail_seconds().any()
    items = result.line_items()
    assert items["cost_usd"].sum() == pytest.approx(2 * 2 * 2.765, rel=1e-12)  # reserved_1y
    shown_vcpu_s = items.loc[items["item"] == "host:vcpu", "quantity"].sum()
    assert shown_vcpu_s == pytest.approx(usage.fleet.allocated_integral[0], rel=1e-9)
    assert items.loc[items["component"] == "idle", "cost_usd"].sum() > 0
    by_purchase = result.summary()["platforms"]["fleet"]["hosts"]["by_purchase"]
    assert list(by_purchase) == ["reserved_1y"]  # named by the price it was bought at


def test_inventory_scenarios_take_a_seed_and_replications() -> None:
    """A scenario validated again with a field changed (--seed, --replications, sweeps)
    gives every field, defaults included: an inventory must not take them as set."""
    scenario = scenario_from_dict(
        _inventory_scenario(inventory={"groups": [{"host_type": "m5.metal", "count": 2}]})
    )
    changed = scenario.with_overrides({"seed": 7, "replications": 2})
    assert (changed.seed, changed.replications) == (7, 2)
    assert len(simulate(changed).runs["fleet"]) == 2


def _trace_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.csv"
    path.write_text(
        "start,end,cpu_milli,mem_mib,gpus,gpu_milli\n"
        "0,100,2000,4096,0,0\n"
        "10,60,4000,8192,1,1000\n"
        "20,220,1000,2048,1,250\n"
        "30,50,8000,16384,2,1000\n"
    )
    return path


TRACE_SHAPES = {
    "vcpu": {"column": "cpu_milli", "scale": 0.001},
    "memory": {"column": "mem_mib", "scale": 1 / 1024},
    "gpus": {"column": "gpus"},
    "gpu_share": {"column": "gpu_milli", "scale": 0.001},
}
"""The shape columns of ``_trace_csv``."""


def _trace_workload(
    path: Path,
    shapes: dict[str, Any] = TRACE_SHAPES,
    nominal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A workload of the tasks in a trace file (start and end columns), each with the
    shape its row gives; ``nominal``: the workload's own shape (1 vCPU, 1 GiB)."""
    trace = workload(
        name="tasks",
        arrivals={
            "kind": "trace",
            "path": str(path),
            "timestamp_column": "start",
            "origin": "0",
            "end_column": "end",
            "shapes": shapes,
        },
        duration=None,
        shape=nominal or {"vcpu": 1, "memory": "1GiB"},
    )
    trace.pop("duration")
    return trace


def test_a_trace_workloads_nominal_shape_hides_no_stranded_room(tmp_path: Path) -> None:
    """Two 60-vCPU, 60-GiB requests from a trace for 600 s, one on each of two m5.metal:
    36 vCPU of each host fit no request, so 2 x 36 x 600 of 192 x 3600 vCPU-s are
    stranded (1/16). The workload's nominal shape (1 vCPU, 1 GiB), which no request has,
    made that 0 when it counted as a shape that fits."""
    path = tmp_path / "tasks.csv"
    path.write_text("start,end,cpu\n0,600,60\n0,600,60\n")
    stranded = []
    for nominal in ({"vcpu": 1, "memory": "1GiB"}, {"vcpu": 60, "memory": "60GiB"}):
        shapes = {"vcpu": {"column": "cpu"}, "memory": {"column": "cpu"}}
        data = _inventory_scenario(
            inventory={"groups": [{"host_type": "m5.metal", "count": 2}]}, placement="worst_fit"
        )
        data["horizon"] = "1h"
        data["workloads"] = [_trace_workload(path, shapes, nominal)]
        data["platforms"][0]["profile"] = "gvisor"
        summary = simulate(scenario_from_dict(data)).summary()["platforms"]["fleet"]
        stranded.append(summary["stranded"]["vcpu"])
    assert stranded[0] == pytest.approx(2 * 36 * 600 / (192 * 3600), rel=1e-3)  # + launch
    assert stranded[0] == pytest.approx(stranded[1], rel=1e-12)


def test_trace_gpu_shares_without_whole_gpus_are_shares_of_one_gpu(tmp_path: Path) -> None:
    """A trace giving GPU shares but no whole-GPU column: 0.7, 0.2 and 0.1 of the one
    GPU at 0 s and 0.001 at 10 s, each for an hour. The shares were dropped (the tasks
    ran without GPUs: 0 GPU-hours, and the fourth started at once); now they fill the
    GPU, the fourth waits for an hour, and the GPU-hours are 1.001 by hand."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("cpu_milli,memory_mib,gpu,model\n16000,65536,1,a100-40gb\n")
    path = tmp_path / "tasks.csv"
    path.write_text("start,end,cpu,gm\n0,3600,1,700\n0,3600,1,200\n0,3600,1,100\n10,3610,1,1\n")
    shapes = {
        "vcpu": {"column": "cpu"},
        "memory": {"column": "cpu"},
        "gpu_share": {"column": "gm", "scale": 0.001},
    }
    data = _inventory_scenario(inventory={"file": _node_file(nodes, gpus=True)})
    data["horizon"] = "3h"
    data["workloads"] = [_trace_workload(path, shapes)]
    data["platforms"][0]["profile"] = "gvisor"
    result = simulate(scenario_from_dict(data), keep_usage=True)
    fleet = result.summary()["platforms"]["fleet"]["fleet"]
    assert fleet["gpu_hours"] == pytest.approx(0.7 + 0.2 + 0.1 + 0.001, rel=1e-12)
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    waited = usage.admit_s - usage.request_s
    assert waited[:3] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    assert waited[3] == pytest.approx(3600 - 10, abs=1.0)  # till the first three end
    # a share above one GPU that is not whole GPUs cannot be placed: refused by line
    path.write_text("start,end,cpu,gm\n0,3600,1,1500\n")
    with pytest.raises(InputErrors, match="line 2: a GPU share above 1"):
        simulate(scenario_from_dict(data))
    # a share below a thousandth, as a scenario's shape refuses (0.5 milli-GPU)
    path.write_text("start,end,cpu,gm\n0,3600,1,0.5\n")
    with pytest.raises(InputErrors, match=r"line 2: a GPU share must be at least 0\.001"):
        simulate(scenario_from_dict(data))


def _p4d_trace_scenario(tmp_path: Path) -> dict[str, Any]:
    """The four trace tasks on an inventory of one p4d.24xlarge under gVisor."""
    data = scenario_dict(
        horizon="1h",
        replications=1,
        workloads=[_trace_workload(_trace_csv(tmp_path))],
        platforms=[
            {
                "profile": "gvisor",
                "id": "fleet",
                "fleet": {
                    "host_prices": "aws-ec2-us-east-1",
                    "inventory": {"groups": [{"host_type": "p4d.24xlarge", "count": 1}]},
                },
            }
        ],
    )
    return data


def test_trace_shapes_are_placed_and_billed_per_request(tmp_path: Path) -> None:
    """Four tasks with their own shapes on one p4d: the showback's vCPU-, GiB- and
    GPU-seconds are each request's own shape times its held time, worked by hand."""
    data = _p4d_trace_scenario(tmp_path)
    result = simulate(scenario_from_dict(data))
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    held = usage.end_s - usage.admit_s
    run = usage.end_s - usage.ready_s
    assert run == pytest.approx([100.0, 50.0, 200.0, 20.0])
    overhead = result.platform("fleet").profile.overhead
    assert overhead is not None
    items = result.line_items()
    vcpu = items[items["component"] == "vcpu"]["quantity"].sum()
    gib = items[items["component"] == "memory"]["quantity"].sum()
    gpu = items[items["component"] == "gpu"].set_index("item")["quantity"]
    assert vcpu == pytest.approx(float(held @ (np.array([2, 4, 1, 8]) + overhead.vcpu)))
    assert gib == pytest.approx(float(held @ (np.array([4, 8, 2, 16]) + overhead.memory)))
    assert gpu["gpu:a100-40gb"] == pytest.approx(held[1] * 1 + held[3] * 2)
    assert gpu["gpu:a100-40gb:share"] == pytest.approx(held[2] * 0.25)
    summary = result.summary()["platforms"]["fleet"]
    assert summary["fleet"]["gpu_hours"] * 3600 == pytest.approx(50 + 200 * 0.25 + 20 * 2)


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        (
            lambda d: d["platforms"].__setitem__(0, {"profile": "aws-fargate"}),
            "platforms[0].workloads",
            "per-request shapes",
        ),
        (
            lambda d: d["platforms"][0]["fleet"].update(host_type="m5.metal"),
            "platforms[0].fleet",
            "give host_type",
        ),
        (
            lambda d: d["platforms"][0]["fleet"].update(autoscaling={"max_hosts": 4}),
            "platforms[0].fleet",
            "autoscaling does not apply to an inventory",
        ),
        (
            lambda d: d["platforms"][0]["fleet"]["inventory"].update(
                groups=[{"host_type": "m9.huge", "count": 1}]
            ),
            "platforms[0].fleet.inventory.groups[0].host_type",
            "no host type 'm9.huge'",
        ),
        (
            lambda d: d["platforms"][0]["fleet"]["inventory"].update(
                groups=[{"host_type": "m5.metal", "count": 2}]
            ),
            "workloads[0].arrivals.shapes",
            "no host of the fleet has any",
        ),
        (
            lambda d: d["workloads"][0]["arrivals"]["shapes"]["vcpu"].update(column="cpus"),
            "workloads[0].arrivals",
            "no column 'cpus'",
        ),
    ],
)
def test_bad_inventories_and_trace_shapes_name_the_field(
    tmp_path: Path, change: Any, field: str, text: str
) -> None:
    data = _p4d_trace_scenario(tmp_path)
    data = copy.deepcopy(data)
    change(data)
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    message = str(caught.value)
    assert field in message
    assert text in message


def test_inventory_file_errors_name_the_line(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,32000,65536,0,\nn1,64000,x,2,T4\n")
    data = _inventory_scenario(inventory={"file": _node_file(nodes, gpus=True)})
    with pytest.raises(InputError) as caught:
        scenario_from_dict(data)
    assert "line 3" in str(caught.value)
    assert "memory_mib" in str(caught.value)


def test_gpu_type_spelt_in_another_case_is_named_as_such(tmp_path: Path) -> None:
    """An inventory of A100-40GB hosts and a workload asking for a100-40gb: the error says
    the case differs and to spell both alike (its fix was to ask for A100-40GB, which
    then failed as a GPU without MIG profiles)."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,A100-40GB\n")
    data = _inventory_scenario(inventory={"file": _node_file(nodes, gpus=True)})
    data["platforms"][0]["profile"] = "gvisor"
    data["workloads"][0]["shape"]["gpu"] = {"type": "a100-40gb", "count": 1}
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    message = str(caught.value)
    assert "case included" in message
    assert "spell the type the same" in message


@pytest.mark.parametrize(("content", "text"), [("", "not a readable CSV"), (None, "is a folder")])
def test_inventory_file_that_is_empty_or_a_folder_is_named(
    tmp_path: Path, content: str | None, text: str
) -> None:
    """An empty inventory CSV named no file; a folder was reported as not found."""
    nodes = tmp_path / "nodes.csv"
    if content is None:
        nodes.mkdir()
    else:
        nodes.write_text(content)
    data = _inventory_scenario(inventory={"file": _node_file(nodes, gpus=False)})
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert text in str(caught.value)
    assert str(nodes) in str(caught.value)


def test_an_inventory_bought_reserved_flags_its_assumed_price() -> None:
    """Three m5.metal hosts bought reserved_1y (an assumed 40% discount): the warning
    names that price as assumed (it was dropped with the default commitment, reserved_1y,
    of committed hosts the fleet does not have)."""
    data = _inventory_scenario(
        inventory={"groups": [{"host_type": "m5.metal", "count": 3}]}, purchase="reserved_1y"
    )
    warnings = " ".join(simulate(scenario_from_dict(data)).summary()["warnings"])
    assert "m5.metal:reserved_1y" in warnings


def test_inventory_in_millicores_without_its_scale_is_refused(tmp_path: Path) -> None:
    """cpu_milli read as cores made 96,000-vCPU hosts without a word; the error names
    the line and asks for the column's scale."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib\nn0,96000,393216\n")
    data = _inventory_scenario(
        inventory={
            "file": {
                "path": str(nodes),
                "vcpu": {"column": "cpu_milli"},
                "memory": {"column": "memory_mib", "scale": 1 / 1024},
            }
        }
    )
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert "line 2" in str(caught.value)
    assert "scale" in str(caught.value)


def test_inventory_with_more_gpus_than_any_host_is_refused(tmp_path: Path) -> None:
    """A host of a billion GPUs (gpu_milli read as GPUs, or a typo) was taken: building
    its GPUs one by one never finished. The error names the line and the column's scale."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,1000000000,A100\n")
    data = _inventory_scenario(inventory={"file": _node_file(nodes, gpus=True)})
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert "line 2" in str(caught.value)
    assert "GPUs on one host" in str(caught.value)
    assert "'gpu' its scale" in str(caught.value)


def _mixed_inventory(policy: str, taint: bool, **overrides: Any) -> FleetModel:
    """Two small hosts without GPUs, a big one, and two with four A100s; sandboxes of
    two shapes without GPUs, one of a whole GPU and one of half a GPU."""
    fields: dict[str, Any] = {
        "host_type": "inventory",
        "capacity": (96.0, 384.0),
        "gpus": 0,
        "placement": policy,
        "min_hosts": 5,
        "max_hosts": 5,
        "target_utilisation": 1.0,
        "scale_out_when_waiting": False,
        "boot_time": Fixed(value=0.0),
        "idle_cooldown_s": 60.0,
        "interval_s": 30.0,
        "committed_hosts": 0,
        "spot_share": 0.0,
        "spot_interruptions_per_s": 0.0,
        "demand_per_class": ((2.0, 8.0), (12.0, 40.0), (8.0, 32.0), (4.0, 16.0)),
        "gpu_need_per_class": (GpuNeed(), GpuNeed(), GpuNeed(whole=1), GpuNeed(share=0.5)),
        "kinds": (
            HostKindModel("small", (16.0, 64.0), 0),
            HostKindModel("big", (96.0, 384.0), 0),
            HostKindModel("gpu", (48.0, 192.0), 4, "a100-40gb"),
        ),
        "inventory": (0, 0, 1, 2, 2),
        "gpu_type_per_class": (None, None, "a100-40gb", None),
        "taint_gpu_hosts": taint,
        **overrides,
    }
    return FleetModel(**fields)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(10, 120),
    policy=st.sampled_from(["first_fit", "best_fit", "worst_fit", "dot_product"]),
    seed=st.integers(0, 10_000),
)
def test_tainted_gpu_hosts_take_only_gpu_sandboxes_whether_indexed_or_scanned(
    n: int, policy: str, seed: int
) -> None:
    """With taint_gpu_hosts, sandboxes without GPUs never land on the hosts with GPUs
    (through the placement index's gates, or a scan over the hosts), GPU sandboxes still
    do, and the index and the scan place every sandbox alike."""
    rng = np.random.default_rng(seed)
    request = np.cumsum(rng.exponential(2.0, n))
    run = rng.exponential(60.0, n)
    which = rng.integers(0, 4, n).astype(np.int64)
    runs = []
    for lookup in ("index", "scan"):
        acts = Activations.one_shot(request, run)
        acts.workload_index[:] = which
        engine = FleetEngine(
            acts,
            run,
            np.zeros(n),
            _mixed_inventory(policy, taint=True),
            np.random.default_rng(seed),
            float(request[-1]) + 1e4,
            which,
            placement_lookup=lookup,  # type: ignore[arg-type]
        )
        result = engine.run()
        runs.append((result, engine.record()))
    (result, record), (scanned, scanned_record) = runs
    assert not np.isnan(result.admit_s).any()
    np.testing.assert_array_equal(record.host_of, scanned_record.host_of)
    np.testing.assert_array_equal(result.admit_s, scanned.admit_s)
    np.testing.assert_allclose(record.stranded_integral, scanned_record.stranded_integral)
    on_gpu_host = record.kind_of[record.host_of] == 2
    assert not on_gpu_host[which < 2].any()


def _one_cpu_and_one_gpu_host(
    taint: bool,
    demand_per_class: tuple[tuple[float, float], ...],
    gpu_need_per_class: tuple[GpuNeed, ...],
) -> FleetRecord:
    """Best fit on a host without GPUs (16 vCPU, 64 GiB) and one with four (48 vCPU, 192
    GiB): one sandbox of each class from 0 s for the whole 1,000 s."""
    model = _mixed_inventory(
        "best_fit",
        taint,
        demand_per_class=demand_per_class,
        gpu_need_per_class=gpu_need_per_class,
        kinds=(HostKindModel("cpu", (16.0, 64.0), 0), HostKindModel("gpu", (48.0, 192.0), 4)),
        inventory=(0, 1),
        min_hosts=2,
        max_hosts=2,
        gpu_type_per_class=(),
    )
    n = len(demand_per_class)
    acts = Activations.one_shot(np.zeros(n), np.full(n, 1000.0))
    acts.workload_index[:] = range(n)
    engine = FleetEngine(
        acts, np.full(n, 1000.0), np.zeros(n), model, np.random.default_rng(1), 1000.0
    )
    engine.run()
    return engine.record()


def test_tainted_gpu_host_room_counts_as_stranded_for_sandboxes_without_gpus() -> None:
    """A sandbox holding all four GPUs of a GPU host (8 vCPU) and one without GPUs, for
    the whole 1,000 s: with the taint the GPU host's free 40 vCPU and 160 GiB fit no
    shape (its GPUs are all taken, and the shape without GPUs may not go there), so they
    are stranded: 40,000 vCPU-s and 160,000 GiB-s. Without it that shape fits there:
    nothing is stranded."""
    stranded = {}
    for taint in (False, True):
        record = _one_cpu_and_one_gpu_host(
            taint, ((2.0, 8.0), (8.0, 32.0)), (GpuNeed(), GpuNeed(whole=4))
        )
        assert record.kind_of[record.host_of].tolist() == [0, 1]  # (best fit: the smaller)
        stranded[taint] = record.stranded_integral
    np.testing.assert_allclose(stranded[False], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(stranded[True], [40_000.0, 160_000.0, 0.0])


def test_tainted_gpu_hosts_strand_no_gpus_when_no_shape_asks_for_them() -> None:
    """Only sandboxes without GPUs (one of 2 vCPU for the whole 1,000 s, on the host
    without GPUs): with the taint the GPU host's 48 vCPU and 192 GiB fit no shape and are
    stranded, but its four GPUs are not, as no shape asks for GPUs (as without the
    taint). Before, the taint's gates made every free GPU count: 4,000 GPU-s, a stranded
    GPU share of 1."""
    stranded = {}
    for taint in (False, True):
        record = _one_cpu_and_one_gpu_host(taint, ((2.0, 8.0),), (GpuNeed(),))
        assert record.kind_of[record.host_of].tolist() == [0]
        stranded[taint] = record.stranded_integral
    np.testing.assert_allclose(stranded[False], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(stranded[True], [48_000.0, 192_000.0, 0.0])


def _gpu_starvation_scenario(**fleet: Any) -> dict[str, Any]:
    """One p4d.24xlarge and one m5.metal, first fit: 40 sandboxes of 2 vCPU for 50
    minutes at 0 s, then 8 of 10 vCPU and an A100 each for 10 minutes at 10 s."""
    data = _inventory_scenario(
        inventory={
            "groups": [
                {"host_type": "p4d.24xlarge", "count": 1},
                {"host_type": "m5.metal", "count": 1},
            ]
        },
        placement="first_fit",
        **fleet,
    )
    data["platforms"][0]["profile"] = "gvisor"
    a100 = {"type": "a100-40gb", "count": 1}
    data["workloads"] = [
        burst("cpu", 40, "0s", "3000s", vcpu=2, memory="4GiB"),
        burst("gpu", 8, "10s", "600s", vcpu=10, memory="64GiB", gpu=a100),
    ]
    return data


def test_taint_gpu_hosts_stops_sandboxes_without_gpus_starving_gpu_work() -> None:
    """First fit puts the 40 CPU sandboxes on the p4d (the first host), holding 80 of its
    96 vCPU: the GPU sandboxes, 10 vCPU each, wait for them (up to 2,990 s) while seven
    A100s sit idle. With taint_gpu_hosts the CPU sandboxes go to the m5.metal and every
    GPU sandbox starts when it comes. Off by default: the run is as it was."""
    waits = {}
    for taint in (False, True):
        data = _gpu_starvation_scenario(**({"taint_gpu_hosts": True} if taint else {}))
        usage = simulate(scenario_from_dict(data), keep_usage=True).runs["fleet"][0].usage
        assert usage is not None
        assert usage.fleet is not None
        cpu, gpu = usage.workload_index == 0, usage.workload_index == 1
        kinds = usage.fleet.kind_of[usage.fleet.host_of]
        assert set(kinds[gpu].tolist()) == {0}  # the p4d (the inventory's first kind)
        assert set(kinds[cpu].tolist()) == ({1} if taint else {0})
        waits[taint] = usage.admit_s[gpu] - usage.request_s[gpu]
    assert waits[False].max() > 2900.0
    assert waits[True].max() == 0.0


@pytest.mark.parametrize(
    ("fleet", "text"),
    [
        ({"inventory": {"groups": [{"host_type": "m5.metal", "count": 2}]}}, "none of its hosts"),
        ({"inventory": None, "host_type": "p4d.24xlarge"}, "its hosts all have GPUs"),
    ],
)
def test_taint_gpu_hosts_where_it_can_do_nothing_is_refused(
    fleet: dict[str, Any], text: str
) -> None:
    """The option keeps sandboxes without GPUs off GPU hosts where hosts without GPUs
    exist too; on a fleet of one kind it would do nothing (or, read as a taint with
    nowhere else to go, keep such sandboxes waiting forever)."""
    data = _inventory_scenario(taint_gpu_hosts=True, **fleet)
    if data["platforms"][0]["fleet"]["inventory"] is None:
        del data["platforms"][0]["fleet"]["inventory"]
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    assert "platforms[0].fleet.taint_gpu_hosts" in str(caught.value)
    assert text in str(caught.value)
    assert "remove taint_gpu_hosts" in str(caught.value)


def test_a_sandbox_only_a_tainted_gpu_host_could_hold_is_refused() -> None:
    """A shape without GPUs of 500 GiB fits the p4d (1,152 GiB) but not the m5.metal
    (384 GiB): with the taint it could never run, so it is refused, naming the taint."""
    data = _gpu_starvation_scenario(taint_gpu_hosts=True)
    data["workloads"][0]["shape"] = {"vcpu": 2, "memory": "500GiB"}
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    message = str(caught.value)
    assert "no host of the fleet without GPUs (taint_gpu_hosts keeps it off the others)" in message
    assert "remove taint_gpu_hosts" in message
