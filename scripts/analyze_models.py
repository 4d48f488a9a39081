"""costcalc.analyze(module) against torch's own figures on timm models: for each, torch's sum(p.numel()) and
torch.utils.flop_counter.FlopCounterMode's total halved (scripts/torch_truth.py: timm's fused attention off) beside
costcalc's params and FLOPs, one JSON line a model ("ok": both equal). Run by hand in the venv with torch and timm,
costcalc from this checkout (never installed there):

    PYTHONPATH=. nice -n 10 /work/TV/bin/python scripts/analyze_models.py gcvit_xxtiny,mambaout_femto [224]
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_truth  # noqa: E402  (sets TIMM_FUSED_ATTN before anything imports timm)


def main() -> int:
    import timm
    import torch

    import costcalc

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    for name in sys.argv[1].split(","):
        start = time.time()
        try:
            model = timm.create_model(name, pretrained=False).eval()
            x = torch.randn(1, 3, size, size)
            truth = torch_truth.measure(model, x, modules=False)
            params = sum(p.numel() for p in model.parameters())
            totals = costcalc.analyze(model, input=(3, size, size)).totals
            line = {"model": name, "torch_params": params, "costcalc_params": totals.params,
                    "torch_macs": truth["macs"], "costcalc_flops": totals.flops,
                    "ok": params == totals.params and truth["macs"] == totals.flops}
        except Exception as e:  # noqa: BLE001 - what failed, torch's side or costcalc's, is the record
            line = {"model": name, "error": f"{type(e).__name__}: {str(e)[:600]}"}
        print(json.dumps({**line, "seconds": round(time.time() - start)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
