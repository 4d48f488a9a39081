"""One small layer of each modern op, as a spec's flow mapping: the exporter's agreement with the reference
(test_export_modern.py) and the round trip through ONNX (test_export.py) use the same cases."""

CASES = {
    "conv_transpose": "{op: conv_transpose, out: 6, k: 3, stride: 2, pad: 1, output_padding: 1, bias: true}",
    "conv_transpose_groups": "{op: conv_transpose, out: 8, k: 4, stride: 2, pad: 1, groups: 2}",
    "layernorm": "{op: layernorm}",
    "layernorm_plain": "{op: layernorm, affine: false}",
    "layernorm_scale_only": "{op: layernorm, bias: false}",  # nn.LayerNorm(bias=False), timm's LayerNorm2dNoBias
    "layernorm_channels_last_scale_only": "{op: layernorm, layout: channels_last, bias: false}",
    "groupnorm": "{op: groupnorm, groups: 2}",
    "groupnorm_plain": "{op: groupnorm, groups: 4, affine: false}",
    "layer_scale": "{op: layer_scale}",
    "hardtanh": "{op: hardtanh, min_val: -0.5, max_val: 0.7}",
    "gelu": "{op: gelu}",
    "gelu_tanh": "{op: gelu, approximate: tanh}",
    "mish": "{op: mish}",
    "softmax": "{op: softmax}",
    "adaptive_avgpool": "{op: adaptive_avgpool, out: [4, 2]}",
    "adaptive_maxpool": "{op: adaptive_maxpool, out: 1}",
    "adaptive_avgpool_up": "{op: adaptive_avgpool, out: [16, 24]}",  # every window one pixel, repeated
    "resize": "{op: resize, scale: 2}",
    "resize_bilinear": "{op: resize, size: [12, 20], mode: bilinear}",
    "resize_bilinear_fraction": "{op: resize, scale: 1.5, mode: bilinear}",
    "resize_fraction": "{op: resize, scale: 1.5}",
    "pad": "{op: pad, pad: [1, 2], pad_end: [0, 3], value: 0.5}",
    "slice": "{op: slice, out: 3, start: 2}",
}
