"""A pure-numpy reference forward pass that checks costcalc's analytic numbers by running the network.

`costcalc.reference.functional` holds NCHW float32 ops with torch.nn.functional's names and arguments;
`counting()` measures what they do (multiply-adds, elements read and written); `network.run` runs a whole graph
with random weights. This package imports numpy: nothing on the `costcalc report` path imports it.
"""

from costcalc.reference.functional import *  # noqa: F401,F403 - the public functional API
from costcalc.reference.functional import __all__ as _functional
from costcalc.reference.tally import Tally, counting

__all__ = [*_functional, "Tally", "counting"]
