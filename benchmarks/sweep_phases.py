"""Per-process phase timestamps of one `costcalc sweep` process (issue 25: where a `--jobs N` run spends its time).

Run as the command would be, `LAUNCH=$(date +%s.%N) python benchmarks/sweep_phases.py sweep SPEC ARGS...`: the
sweep runs as `python -m costcalc` runs it, with the functions of its phases wrapped (import, draw, the draw and
order of each --jobs process, its claims: evaluating and rendering, putting the texts in order, the render), and
each process prints on stderr, at its end, `what=wall ms since LAUNCH/CPU ms` per phase, the evaluate and render
time of its pieces, the garbage collector's time by phase, and its rusage. Used as (docs/sweep.md, "Where the
time goes"), under `scripts/timing --quiet`, three rounds of one process, --jobs 2 and two copies side by side:

    R="--range depths[*]=1:6 --range width_per_group=16,32,48,64 --range groups=1,2,4,8,32"
    LAUNCH=$(date +%s.%N) python benchmarks/sweep_phases.py sweep specs/resnet50.yaml --random 50000 $R --format csv \
        --jobs 2 > /dev/null
"""
import os, sys, time
T0 = time.time()
LAUNCH = float(os.environ.get("LAUNCH", T0))
marks = []
acc = {"eval": 0.0, "render": 0.0, "evalc": 0.0, "renderc": 0.0}
def mark(what):
    marks.append((what, time.time(), time.process_time()))
    try:
        gcmarks.append((what, round(1000 * gcs["t"])))
    except NameError:
        pass
gcmarks = []
import atexit
def dump():
    prev = LAUNCH
    out = []
    for what, t, c in marks:
        out.append(f"{what}={1000*(t-LAUNCH):.0f}/{1000*c:.0f}")
    out.append(" ".join(f"{k}={1000*v:.0f}" for k, v in acc.items()))
    out.append(f"gc by mark {gcmarks}")
    out.append(f"gc={1000*gcs['t']:.0f}ms gen2={gcs['n2']} ({1000*gcs['t2']:.0f}ms at {gcs['at2']})")
    import resource
    u = resource.getrusage(resource.RUSAGE_SELF)
    out.append(f"utime={u.ru_utime*1000:.0f} stime={u.ru_stime*1000:.0f} minflt={u.ru_minflt} "
               f"maxrss={u.ru_maxrss//1024}MB")
    print(f"[{os.getpid()}] " + " ".join(out), file=sys.stderr)
atexit.register(dump)
mark("interp")
import gc
gcs = {"t": 0.0, "n2": 0, "t2": 0.0, "start": 0.0, "at2": []}
def _gc(phase, info):
    if phase == "start":
        gcs["start"] = time.perf_counter()
    else:
        d = time.perf_counter() - gcs["start"]
        gcs["t"] += d
        if info["generation"] == 2:
            gcs["n2"] += 1; gcs["t2"] += d; gcs["at2"].append(f"{1000*(time.time()-LAUNCH):.0f}:{1000*d:.0f}")
gc.callbacks.append(_gc)
from costcalc import cli  # noqa
from costcalc.analysis import sweep_jobs as sj, sweep as sw
import costcalc.analysis.parts  # noqa
mark("imported")
_prep, _claim, _place = sj._prepared, sj.claim, sj.place
def prepared(*a, **k):
    mark("prep0"); r = _prep(*a, **k); mark("prep1"); return r
def claim(*a, **k):
    mark("claim0"); r = _claim(*a, **k); mark("claim1"); return r
def place(*a, **k):
    mark("place0"); r = _place(*a, **k); mark("place1"); return r
sj._prepared, sj.claim, sj.place = prepared, claim, place
import costcalc.api_sweep as aw
_rp, _run = aw.random_points, aw.run
def rp(*a, **k):
    mark("draw0"); r = _rp(*a, **k); mark("draw1"); return r
def run(*a, **k):
    mark("run0"); r = _run(*a, **k); mark("run1"); return r
aw.random_points, aw.run = rp, run
_worker = sj._worker
def worker(*a, **k):
    marks.clear(); acc.update(dict.fromkeys(acc, 0.0)); gcs.update(t=0.0, n2=0, t2=0.0, at2=[]); gcmarks.clear()
    mark("forked")
    try:
        _worker(*a, **k)
    finally:
        mark("wend"); dump(); os._exit(0)
sj._worker = worker
def rcall(self, piece):
    t, c = time.time(), time.process_time()
    rows = self.evaluate(self.model, piece, self.batch, self.profile)
    t1, c1 = time.time(), time.process_time()
    text = self.render(rows)
    t2, c2 = time.time(), time.process_time()
    acc["eval"] += t1 - t; acc["evalc"] += c1 - c; acc["render"] += t2 - t1; acc["renderc"] += c2 - c1
    return [(tuple(index for index, _ in piece), text, sum(row.error is not None for row in rows))]
sj.Rendered.__call__ = rcall
import costcalc.report.as_sweep as asw
_render = asw.render
def render(*a, **k):
    mark("render0"); r = _render(*a, **k); mark("render1"); return r
asw.render = render
sys.argv = ["costcalc"] + sys.argv[1:]
cli.main()
