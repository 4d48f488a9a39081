"""Where and when a device profile was fitted, and how old it is: the `fitted_on:` record that `costcalc calibrate`
writes into a profile's `calibration:` section, and the line `report --device` prints from it.

    calibration:
      fitted_on: {date: "2026-12-06T23:41Z", host: build-7, onnxruntime: 1.32.0, threads: 1, clock: cpu}
      rescaled: {date: "2026-12-09T10:02Z", factor: 0.91, ...}     # by `calibrate --check --refit-scale`

A profile is true for the machine, the runtime version and the thread count it was fitted on, and only while the
machine runs as it did then (docs/latency.md, "When a profile drifts"): the record says which, so that a user
can tell, and `calibrate --check` can test it.
"""

from __future__ import annotations

import datetime as _dt

DATE_FORMAT = "%Y-%m-%dT%H:%MZ"  # UTC, to the minute
KEY = "fitted_on"  # in the profile's calibration: section (its `fitted:` is the fit's quality)


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def date_text(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime(DATE_FORMAT)


def parse_date(text) -> _dt.datetime | None:
    """The moment of a record's `date` ("2026-12-06T23:41Z"), or None when there is none or it is unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return _dt.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


def runtime_version(runtime: str) -> str:
    """'1.32.0' of 'onnxruntime 1.32.0 (CPUExecutionProvider)' ('' when it names no version)."""
    words = runtime.split()
    return words[1] if len(words) > 1 and words[0] == "onnxruntime" else ""


def host_name() -> str:
    import socket

    return socket.gethostname()


def fitted_record(runtime: str, threads: int, clock: str, moment: _dt.datetime | None = None) -> dict:
    """The `fitted_on:` record of a profile calibrated now on this host."""
    return {"date": date_text(moment or now_utc()), "host": host_name(), "onnxruntime": runtime_version(runtime),
            "threads": threads, "clock": clock}


def fitted(profile) -> dict:
    """The profile's `fitted_on:` record ({} for a profile written before costcalc recorded one)."""
    record = profile.calibration.get(KEY)
    return record if isinstance(record, dict) else {}


def age_text(seconds: float) -> str:
    """'3 days', '5 hours', '12 minutes', 'less than a minute'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def describe(profile, moment: _dt.datetime | None = None) -> str:
    """'fitted 2026-12-01T18:25Z (5 days ago) on host build-7, AMD EPYC, 2 CPUs, onnxruntime 1.32.0, 1 thread';
    what is not recorded is said to be."""
    record = fitted(profile)
    when = parse_date(record.get("date"))
    threads = record.get("threads", profile.threads)
    version = record.get("onnxruntime") or runtime_version(profile.runtime)
    runtime = f"onnxruntime {version}" if version else "an unrecorded onnxruntime version"
    if when is None:
        date = "fitted on an unrecorded date"
    else:
        age = ((moment or now_utc()) - when).total_seconds()
        date = f"fitted {date_text(when)} ({age_text(age)} ago)" if age >= 0 else f"fitted {date_text(when)}"
    host = f"host {record['host']}" if record.get("host") else "an unrecorded host"
    device = f", {profile.device}" if profile.device else ""
    rescaled = profile.calibration.get("rescaled")
    again = ""
    if isinstance(rescaled, dict) and parse_date(rescaled.get("date")):
        again = f"; rescaled x{rescaled.get('factor')} on {rescaled['date']}"
    return f"{date} on {host}{device}, {runtime}, {threads} thread{'s' if threads != 1 else ''}{again}"


def batch_note(profile, batch: int) -> str:
    """'' when `profile` covers `batch` (its calibration networks ran at it), else why not: a profile is fitted at
    one batch (`costcalc calibrate --batch N`), and its classes' throughput there is not their throughput at
    another (docs/latency.md, "Batch"). A profile that records no batch was fitted at batch 1."""
    fitted_at = profile.calibration.get("batch", 1)
    if fitted_at == batch:
        return ""
    return (f"the profile was fitted at batch {fitted_at} and this network runs at batch {batch}, which it does not "
            f"cover (`costcalc calibrate --batch {batch}` fits one that does)")
