"""A sweep's points evaluated on a Dask cluster (dask.distributed, the optional `[dask]` extra).

The parsed model is sent to every worker once (`Client.scatter(..., broadcast=True)`), so each worker keeps its
remembered walks between the pieces of points it is given. The points are handed out as `--jobs` hands them out
(costcalc.analysis.sweep_jobs.segments): in locality order, one segment per worker, so that each worker learns the
parts of its own points rather than of all; each segment is cut into a few large pieces (what a task costs the
scheduler is then small beside the points it evaluates), each piece asked of its segment's worker (another may
take it when that one is busy). A piece comes back as plain values (`compact`), or with `render`, as the texts of
its rows, rendered on the worker. Only a connection failure is costcalc's error; a point's own error is its row,
as in process.
"""

from __future__ import annotations

from costcalc.errors import CostcalcError, NotAvailableError

CONNECT_TIMEOUT = "10s"
PIECES_PER_WORKER = 4


def _piece(evaluate, model, items: list, batch: int, profile, render):
    """On a worker: a piece's rows as plain values, or with `render`, (indexes, texts, failed points)."""
    from costcalc.analysis.sweep_jobs import Rendered, Rows

    work = Rows(evaluate, model, batch, profile) if render is None else \
        Rendered(evaluate, model, batch, profile, render)
    return work.send(work(items))


def evaluate_on_cluster(model, points: list, batch: int, scheduler, progress=None, profile=None, *, evaluate,
                        chunks, sweep_row=None, render=None):
    """The rows of `points` on the cluster at `scheduler` (an address such as tcp://HOST:PORT, or a
    distributed.Client / LocalCluster already made), in point order; with `render` (rows -> their texts), (the
    texts in point order, the points that failed). `evaluate(model, [(index, point), ...], batch, profile)` makes
    the rows of a piece on a worker, `sweep_row` a row of its plain values, and `chunks(points, n)` cuts the
    pieces (costcalc.analysis.sweep gives its own: this module imports nothing of it, so the two import no
    circle)."""
    try:
        import distributed
    except ImportError:
        raise NotAvailableError(f"scheduler {scheduler}: error: sweeping on a Dask cluster needs the distributed "
                                "package: pip install 'costcalc[dask]'") from None
    from costcalc.analysis.sweep_jobs import Rendered, Rows, items, place, segments

    own = not isinstance(scheduler, distributed.Client)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False) if own else scheduler
    except (OSError, TimeoutError, ValueError) as e:
        raise CostcalcError(f"scheduler {scheduler}: error: cannot connect to the Dask scheduler: {e}") from None
    try:
        addresses = sorted(client.scheduler_info().get("workers", {})) or [None]
        shared = client.scatter(model, broadcast=True)
        order, pieces, bounds = segments(points, len(addresses), _cut(chunks, len(points), len(addresses)))
        futures = []
        for worker, address in enumerate(addresses):
            for piece in pieces[bounds[2 * worker]:bounds[2 * worker + 1]]:
                futures.append(client.submit(_piece, evaluate, shared, items(points, order, piece), batch, profile,
                                             render, pure=False,
                                             workers=None if address is None else [address],
                                             allow_other_workers=True))
        work = Rows(evaluate, model, batch, profile) if render is None else \
            Rendered(evaluate, model, batch, profile, render)
        out: list = []
        done = 0
        for future in distributed.as_completed(futures, loop=client.loop):
            part = future.result()
            out.extend(work.received(sweep_row, points, part))
            done += sum(len(indexes) for indexes, *_ in part) if render is not None else len(part)
            if progress is not None:
                progress(done)
    finally:
        if own:
            client.close()
    if render is not None:
        return place(out, len(points))
    out.sort(key=lambda row: row.index)
    return out


def _cut(chunks, count: int, workers: int):
    """`chunks`, asked for pieces of about count / (workers * PIECES_PER_WORKER) points (where a setting's inputs
    allow): a few large pieces per worker."""
    def cut(points: list, parts: int) -> list:
        size = max(1, -(-count // (workers * PIECES_PER_WORKER)))
        return chunks(points, parts, size)

    return cut
