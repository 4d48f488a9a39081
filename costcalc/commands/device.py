"""The `--device PROFILE` option that report, compare, guidelines and check share: a device profile
(costcalc.latency.profile) that adds estimated latency to what they show."""

from __future__ import annotations

import click


def device_option(command):
    return click.option("--device", "device", metavar="PROFILE.yaml", type=click.Path(dir_okay=False),
                        help="A device profile (from `costcalc calibrate`): adds the estimated latency of every row "
                             "and of the batch.")(command)


def load_device(path: str | None):
    """The DeviceProfile at `path` (None without one); a bad file raises a located ProfileError."""
    if path is None:
        return None
    from costcalc.latency.profile import load

    return load(path)
