"""`costcalc sweep --scheduler`: the points evaluated on a Dask cluster give the rows of an in-process sweep; without
the [dask] extra, one error naming it. The cluster is a LocalCluster of one in-process worker (fast)."""

import json
import sys

import pytest

import costcalc
from conftest import SPECS

MOBILENET = str(SPECS / "mobilenet_v2.yaml")
GRID = {"width": [0.5, 1.0, 0.3], "input": ["3x96x96", "3x128x128"]}


def _local(workers: int):
    distributed = pytest.importorskip("distributed")
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)


@pytest.fixture(scope="module")
def cluster():
    with _local(1) as local:
        yield local


def test_the_cluster_gives_the_rows_of_a_local_sweep(cluster):
    remote = costcalc.sweep(MOBILENET, grid=GRID, scheduler=cluster.scheduler_address, pareto="flops,params")
    local = costcalc.sweep(MOBILENET, grid=GRID, pareto="flops,params")
    assert remote.rows == local.rows and len(remote.rows) == 6 and remote.front
    profile = SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml"
    timed = costcalc.sweep(MOBILENET, grid=GRID, scheduler=cluster.scheduler_address, device=profile)
    assert timed.rows == costcalc.sweep(MOBILENET, grid=GRID, device=profile).rows
    assert all(row.latency_s > 0 for row in timed.rows)


def test_the_command_line_on_the_cluster(cluster, run):
    result = run("sweep", MOBILENET, "--grid", "width=0.5,1.0", "--scheduler", cluster.scheduler_address,
                 "--format", "json")
    assert result.exit_code == 0
    flops = [row["totals"]["flops"] for row in json.loads(result.stdout)["rows"]]
    assert flops == [costcalc.analyze(MOBILENET, set={"width": w}).totals.flops for w in (0.5, 1.0)]


def test_an_unreachable_scheduler_is_one_error(run, monkeypatch):
    pytest.importorskip("distributed")
    from costcalc.analysis import sweep_dask

    monkeypatch.setattr(sweep_dask, "CONNECT_TIMEOUT", "1s")
    result = run("sweep", MOBILENET, "--grid", "width=0.5", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.stderr.startswith("scheduler tcp://127.0.0.1:9: error: cannot connect to the Dask scheduler")
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_the_extra(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    result = run("sweep", MOBILENET, "--grid", "width=0.5", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert result.stderr == ("scheduler tcp://127.0.0.1:8786: error: sweeping on a Dask cluster needs the "
                             "distributed package: pip install 'costcalc[dask]'\n")


@pytest.fixture(scope="module")
def two_workers():
    with _local(2) as local:
        yield local


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_a_search_on_two_workers_writes_what_one_process_writes(two_workers, run, fmt):
    """The points handed out in locality order, a segment per worker, each worker rendering its own rows: the
    output is the one process's, byte for byte, points that fail and the latency estimate included."""
    profile = str(SPECS.parent / "devices" / "epyc-2cpu-onnxruntime-1.32-1thread.yaml")
    args = ["sweep", MOBILENET, "--random", "300", "--range", "width=0.35:1.4", "--range", "n[*]=1:4", "--range",
            "t[6]=0,6", "--device", profile, "--format", fmt]
    local = run(*args)
    remote = run(*args, "--scheduler", two_workers.scheduler_address)
    assert local.exit_code == remote.exit_code == 0 and local.stdout.count("\n") > 200
    assert remote.stdout == local.stdout and remote.stderr == local.stderr


def test_rows_from_two_workers_are_the_rows_of_one_process(two_workers):
    ranges = {"width": (0.35, 1.4), "n[*]": (1, 4), "t[6]": [0, 6]}
    remote = costcalc.sweep(MOBILENET, random=400, ranges=ranges, scheduler=two_workers.scheduler_address)
    assert remote.rows == costcalc.sweep(MOBILENET, random=400, ranges=ranges).rows and remote.invalid > 0
