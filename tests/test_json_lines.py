"""The JSON report's fast path (costcalc.report.json_lines) writes exactly the text of the plain encoder."""

from __future__ import annotations

import pytest

from costcalc.api import checked
from costcalc.graph import load
from costcalc.report.as_json import document, pretty, render
from conftest import SPECS

CASES = [("resnet50.yaml", {}, {}), ("shufflenet_v2_x0_5.yaml", {}, {"bytes_per_element": 2}),
         ("mobilenet_v2.yaml", {"width": "0.5"}, {"convention": "fvcore"}), ("densenet121.yaml", {}, {}),
         ("preact_resnet_cifar.yaml", {"depth": "164"}, {}), ("inception_resnet_v2.yaml", {}, {})]


@pytest.mark.parametrize("name, overrides, options", CASES, ids=[c[0] for c in CASES])
def test_the_rendered_report_is_the_plain_encoding_of_its_document(name, overrides, options):
    report = checked(load(str(SPECS / name), overrides), None, **options)
    assert render(report) == pretty(document(report)) + "\n"


def test_layers_that_share_their_content_still_print_their_own_names_and_inputs():
    report = checked(load(str(SPECS / "preact_resnet_cifar.yaml"), {"depth": "164"}))
    text = render(report)
    lines = [line for line in text.splitlines() if line.startswith('  {"name": "stage1.units.3.residual.conv2"')]
    assert lines == ['  {"name": "stage1.units.3.residual.conv2", "op": "conv", "inputs": '
                     '["stage1.units.3.residual.relu2"], "output": [1, 16, 32, 32], "args": {"out": 16, "k": [3, 3], '
                     '"stride": [1, 1], "pad": [1, 1], "dilation": [1, 1], "groups": 1, "bias": false}, '
                     '"flops": 2359296, "elementwise_flops": 0, "params": 2304, "memory_access": 35072, '
                     '"activations": 16384},']
