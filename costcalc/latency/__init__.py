"""Latency: a calibrated estimate of a network's time on a device.

    profile.py      the device profile (YAML): per op class throughput, bandwidth and per-kernel overhead
    model.py        the formula, fusion and layout rules: pure functions, no runtime needed to estimate
    fit.py          fitting a profile to measured networks (NNLS)
    networks.py     the synthetic calibration networks (never the zoo's)
    calibration.py  measuring them with costcalc.runtime, the fit and the context factor
"""

from costcalc.latency.model import Estimate, estimate, plan
from costcalc.latency.profile import DeviceProfile, ProfileError, load, save

__all__ = ["DeviceProfile", "Estimate", "ProfileError", "estimate", "load", "plan", "save"]
