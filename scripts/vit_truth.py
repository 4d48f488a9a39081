"""torch's own figures for examples/vit_b_16.yaml (tests/test_spec_tensor_examples.py holds them): torchvision's
vit_b_16 at 224, parameters by `sum(p.numel())` and multiply-adds by torch.utils.flop_counter.FlopCounterMode
(halved: it counts a multiply-add as two FLOPs), and the meta torchvision publishes with its weights.

FlopCounterMode sees the products inside scaled_dot_product_attention only on its math backend, and
nn.MultiheadAttention's eval fast path not at all: the model runs in train mode (its dropouts are 0, so the
forward is the eval one) under sdpa_kernel(SDPBackend.MATH). Needs torch and torchvision (no weights are loaded).

Usage: python scripts/vit_truth.py
"""

import torch
import torchvision
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


def main():
    meta = torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1.meta
    model = torchvision.models.vit_b_16().train()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 224, 224))
    by_op = {str(op): flops // 2 for op, flops in counter.get_flop_counts()["Global"].items()}
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    print(f"published: {meta['_ops']} GFLOPS, {meta['num_params']:,} params")
    print(f"sum(p.numel()): {sum(p.numel() for p in model.parameters()):,}")
    print(f"multiply-adds: {counter.get_total_flops() // 2:,}  {by_op}")


if __name__ == "__main__":
    main()
