"""A pure-numpy reference forward pass that checks costcalc's analytic numbers by running the network.

`costcalc.reference.functional` (with `norms`, `resampling` and, for any rank, `tensors`) holds float32 ops with
torch.nn.functional's names and arguments; `counting()` measures what they do (multiply-adds, elements read and
written); `network.run` runs a whole graph with random weights. This package imports numpy: nothing on the
`costcalc report` path imports it.
"""

from costcalc.reference.functional import *  # noqa: F401,F403 - the public functional API
from costcalc.reference.functional import __all__ as _functional
from costcalc.reference.norms import *  # noqa: F401,F403
from costcalc.reference.norms import __all__ as _norms
from costcalc.reference.resampling import *  # noqa: F401,F403
from costcalc.reference.resampling import __all__ as _resampling
from costcalc.reference.tally import Tally, counting
from costcalc.reference.tensors import *  # noqa: F401,F403
from costcalc.reference.tensors import __all__ as _tensors

__all__ = [*_functional, *_norms, *_resampling, *_tensors, "Tally", "counting"]
