"""Hostile inputs that attack resources (issue 7), and the largest legitimate networks, which the limits must let
through with exact counts checked against independent closed forms."""

from __future__ import annotations

import pathlib
import sys

import pytest

from hostile import check_promises

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import big_specs  # noqa: E402

from costcalc import graph  # noqa: E402
from costcalc.analysis import analyse  # noqa: E402
from costcalc.errors import SpecError  # noqa: E402
from costcalc.graph import load  # noqa: E402
from costcalc.spec import loader  # noqa: E402


def _error(path) -> str:
    with pytest.raises(SpecError) as info:
        load(str(path))
    return str(info.value)


# ---- files that are not specs ------------------------------------------------------------------------------


def test_a_directory(tmp_path):
    code, lines = check_promises(str(tmp_path))
    assert code == 2 and lines == [f"{tmp_path}:1:1: error: is a directory, not a spec file"]


def test_a_missing_file(tmp_path):
    path = str(tmp_path / "nope.yaml")
    code, lines = check_promises(path)
    assert code == 2 and lines == [f"{path}:1:1: error: cannot read: No such file or directory"]


def test_a_device_is_not_read():
    code, lines = check_promises("/dev/zero")  # would be read forever, or to the size limit
    assert code == 2 and lines == ["/dev/zero:1:1: error: is not a regular file (a pipe or a device?): give a spec file"]


def test_a_file_beyond_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 2000)
    assert _error(path) == f"{path}:1:1: error: file is larger than the limit of 1,000 bytes"


# ---- YAML that attacks the parser ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_flow_nesting_is_an_error_not_a_crash(tmp_path, depth):
    """Regression: libyaml's composer recursed in C and crashed the interpreter (SIGSEGV) at depth 100,000."""
    path = tmp_path / "deep.yaml"
    path.write_text("layers: " + "[" * depth + "]" * depth + "\n")
    assert _error(path) == f"{path}:1:72: error: YAML nested deeper than the limit of 64 levels"


def _laughs(section: str, levels: int) -> str:
    lines = ["input: [3, 8, 8]", "layers: [relu]", f"{section}:", "  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_moderate_aliasing_is_fine(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text(_laughs("published", 5))  # 10^5 values as if copied: shared, never copied
    assert check_promises(str(path), "--format", "json")[0] == 0


def test_billion_laughs_is_an_error(tmp_path):
    """Aliases are shared in memory, but what they would expand to is bounded: anything downstream that walks a
    value once per reference (a list variable read by many layers) then stays bounded too."""
    path = tmp_path / "bomb.yaml"
    path.write_text(_laughs("published", 9))  # 10^9 values
    message = _error(path)
    assert message.startswith(f"{path}:10:22:") and message.endswith(
        "error: aliases expand to more than the limit of 4,000,000 YAML values (an alias bomb?)")


def test_a_long_list_read_through_many_aliases_is_bounded(tmp_path):
    lines = ["input: [3, 8, 8]", "layers: [relu]", "vars:", "  big: &big [" + ", ".join(["1"] * 100_000) + "]"]
    lines += [f"  v{i}: *big" for i in range(100)]
    path = tmp_path / "wide.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "aliases expand to more than the limit of 4,000,000" in _error(path)


def test_merge_bomb_is_bounded(tmp_path, monkeypatch):
    """Each `<<` copies the keys it merges: a chain of merges is quadratic, so merged keys count as values."""
    monkeypatch.setattr(loader, "MAX_NODES", 5000)
    lines = ["published:", "  m0: &m0 {k0: 1}"]
    lines += [f"  m{i}: &m{i} {{<<: *m{i - 1}, k{i}: 1}}" for i in range(1, 400)]
    path = tmp_path / "merge.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "more than the limit of 5,000 YAML values (merges included)" in _error(path)


def test_layer_alias_bomb_hits_the_layer_limit(tmp_path, monkeypatch):
    """Aliased layer lists are read once, but walking them expands 10^5 layers: the layer limit stops it."""
    monkeypatch.setattr(graph, "MAX_NODES", 2000)
    lines = ["input: [3, 8, 8]", "published:", "  a0: &a0 {op: relu}"]
    lines += [f"  a{i}: &a{i} {{layers: [{', '.join([f'*a{i - 1}'] * 10)}]}}" for i in range(1, 6)]
    lines.append("layers: [*a5]")
    path = tmp_path / "layers.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "the network expands to more than the limit of 2,000 layers" in _error(path)


def test_switched_off_repeats_hit_the_step_limit(tmp_path, monkeypatch):
    """Nested repeats of a layer switched off by `if` create no layer but would loop 10^15 times."""
    monkeypatch.setattr(graph, "MAX_STEPS", 10_000)
    path = tmp_path / "off.yaml"
    path.write_text("input: [3, 8, 8]\nblocks:\n  inner: [{op: relu, if: 'False', repeat: 100000}]\n"
                    "  outer: [{block: inner, repeat: 100000}]\nlayers: [{block: outer, repeat: 100000}]\n")
    assert "more than the limit of 10,000 layer entries" in _error(path)


# ---- huge but legitimate numbers ----------------------------------------------------------------------------


def test_exa_flops_stay_exact_and_render(tmp_path, run):
    """fc from 10^9 features to 10^9: 10^18 multiply-adds, 10^18 + 10^9 params (weights and bias)."""
    path = tmp_path / "exa.yaml"
    path.write_text("input: [1000000000]\nlayers:\n  - {name: fc, op: fc, out: 1000000000}\n")
    totals = analyse(load(str(path))).totals
    assert totals.flops == 10**18 and totals.params == 10**18 + 10**9
    assert totals.memory_access == 10**9 + 10**9 + 10**18 + 10**9  # read, write, params read
    import json

    doc = json.loads(run("report", str(path), "--format", "json").stdout)
    assert doc["totals"]["flops"] == 10**18 and doc["totals"]["params"] == 10**18 + 10**9
    table = run("report", str(path), "--depth", "all").stdout
    assert "1.00E" in table
    exact = run("report", str(path), "--exact").stdout
    assert "1,000,000,000,000,000,000" in exact and "1,000,000,001,000,000,000" in exact


def test_counts_beyond_exa_keep_every_digit(tmp_path, run):
    """A batch of 10^6 on the 10^18 fc: 10^24 multiply-adds, past the largest suffix, printed in full."""
    path = tmp_path / "zetta.yaml"
    path.write_text("input: [1000000000]\nlayers:\n  - {name: fc, op: fc, out: 1000000000}\n")
    assert analyse(load(str(path), batch=10**6)).totals.flops == 10**24
    assert "1,000,000,000,000,000,000,000,000" in run("report", str(path), "--batch", str(10**6)).stdout


# ---- the largest real networks pass the limits, with counts checked by closed forms ----------------------------


def _bn(c):
    return 2 * c


def test_preact_resnet1001(tmp_path):
    path = tmp_path / "r1001.yaml"
    path.write_text(big_specs.PREACT_RESNET_1001)
    result = analyse(load(str(path)))
    # closed form: stem 3x3 3->16; 111 units per stage; projection where the shape changes
    conv = 3 * 3 * 3 * 16
    bn = 0
    inputs = 16
    for planes in (16, 32, 64):
        for u in range(111):
            conv += inputs * planes + 9 * planes * planes + planes * planes * 4
            bn += _bn(inputs) + _bn(planes) + _bn(planes)
            if u == 0:
                conv += inputs * planes * 4
            inputs = planes * 4
    bn += _bn(256)
    fc = 256 * 10 + 10
    assert result.totals.params == conv + bn + fc
    # He et al. 2016, Table 2: 10.2M parameters (weights of conv and fc layers; batchnorm adds 0.15M)
    assert abs((conv + fc) - 10_200_000) < 0.005 * 10_200_000
    assert len(result.layers) == 1 + 3 * 111 * 10 + 3 + 5


def test_densenet264(tmp_path):
    path = tmp_path / "d264.yaml"
    path.write_text(big_specs.DENSENET_264)
    result = analyse(load(str(path)))
    growth, params, c = 32, 7 * 7 * 3 * 64 + _bn(64), 64
    for i, n in enumerate((6, 12, 64, 48)):
        for _ in range(n):
            params += _bn(c) + c * 4 * growth + _bn(4 * growth) + 9 * 4 * growth * growth
            c += growth
        if i < 3:
            params += _bn(c) + c * (c // 2)
            c //= 2
    params += _bn(c) + c * 1000 + 1000
    assert c == 2688
    assert result.totals.params == params == 33_337_704  # the figure usually quoted for DenseNet-264 (33.3M)


def test_stress_100000_layers(tmp_path):
    """100,000 explicit entries: conv 3x3 16->16 (pad 1) on 8x8, bn, relu in turn — 33,334 convs."""
    path = tmp_path / "stress.yaml"
    path.write_text(big_specs.stress(100_000))
    result = analyse(load(str(path)))
    convs, bns, relus = 33_334, 33_333, 33_333
    assert len(result.layers) == convs + bns + relus == 100_000
    assert result.totals.flops == convs * (8 * 8 * 16) * (3 * 3 * 16)
    assert result.totals.params == convs * (3 * 3 * 16 * 16) + bns * 2 * 16
    assert result.totals.elementwise_flops == (bns * 2 + relus * 1) * 16 * 8 * 8


def test_console_markup_in_the_name_is_printed_as_text(tmp_path, run):
    """Regression: rich read the model's name as markup, and '[/bold]' raised MarkupError (a traceback)."""
    path = tmp_path / "markup.yaml"
    path.write_text('name: "[/bold] net [red]x"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    result = run("report", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith("[/bold] net [red]x | input 1x3x8x8")


def test_a_huge_table_is_cut_with_a_note(tmp_path, run, monkeypatch):
    """Past MAX_TABLE_ROWS (100,000) rows a table is cut, the totals still cover every layer (shown here with the
    limit lowered to 10: a 100,001-layer spec takes longer to read than a test should)."""
    import costcalc.commands.report

    monkeypatch.setattr(costcalc.commands.report, "MAX_TABLE_ROWS", 10)
    path = tmp_path / "wide.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [{op: relu, repeat: 11}]\n")
    result = run("report", str(path))
    assert result.exit_code == 0
    assert result.stderr == ("note: the table shows the first 10 of 11 rows (totals cover all); "
                             "use --depth, --top or --format json\n")
    assert "relu_0.9 " in result.stdout and "relu_0.10 " not in result.stdout
    assert f"{11 * 192:,}" in run("report", str(path), "--exact").stdout  # 1 FLOP per element of 3x8x8


def test_an_op_repeated_zero_times_passes_its_input_on(tmp_path):
    """Regression: `repeat: 0` on an op raised UnboundLocalError. Like a switched-off layer, it is an identity."""
    path = tmp_path / "zero.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - {op: relu, repeat: 0}\n  - {name: conv, op: conv, out: 4, k: 1}\n")
    result = analyse(load(str(path)))
    assert [layer.name for layer in result.layers] == ["conv"]
    assert result.totals.flops == 8 * 8 * 4 * 3 and result.totals.params == 3 * 4
