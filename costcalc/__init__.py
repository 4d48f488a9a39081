"""costcalc: the analytic cost of CNN architectures, from YAML layer specs, with no deep-learning framework."""

__version__ = "0.1.0"
