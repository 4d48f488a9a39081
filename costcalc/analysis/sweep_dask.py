"""A sweep's points evaluated on a Dask cluster (dask.distributed, the optional `[dask]` extra).

The parsed model is sent to every worker once (`Client.scatter(..., broadcast=True)`), so each worker keeps its
remembered walks between the chunks of points it is given; rows come back in any order and are put back in point
order. Only a connection failure is costcalc's error; a point's own error is its row, as in process.
"""

from __future__ import annotations

from costcalc.errors import CostcalcError, NotAvailableError

CONNECT_TIMEOUT = "10s"


def evaluate_on_cluster(model, points: list, batch: int, scheduler, progress=None, profile=None, *, evaluate,
                        chunks) -> list:
    """The rows of `points` on the cluster at `scheduler` (an address such as tcp://HOST:PORT, or a
    distributed.Client / LocalCluster already made). `evaluate(model, points, batch, start, profile)` makes the
    rows of a piece on a worker and `chunks(points, n)` cuts the pieces (costcalc.analysis.sweep gives its own:
    this module imports nothing of it, so the two import no circle)."""
    try:
        import distributed
    except ImportError:
        raise NotAvailableError(f"scheduler {scheduler}: error: sweeping on a Dask cluster needs the distributed "
                                "package: pip install 'costcalc[dask]'") from None
    own = not isinstance(scheduler, distributed.Client)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False) if own else scheduler
    except (OSError, TimeoutError, ValueError) as e:
        raise CostcalcError(f"scheduler {scheduler}: error: cannot connect to the Dask scheduler: {e}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        shared = client.scatter(model, broadcast=True)
        pieces = chunks(points, workers)
        futures = [client.submit(evaluate, shared, piece, batch, start, profile, pure=False) for start, piece in pieces]
        rows: list = []
        for future in distributed.as_completed(futures, loop=client.loop):
            rows.extend(future.result())
            if progress is not None:
                progress(len(rows))
    finally:
        if own:
            client.close()
    rows.sort(key=lambda row: row.index)
    return rows
