"""Errors that come from options rather than the file: still one located line each, exit 2, all reported."""

from hostile import check_promises


def test_every_unknown_set_is_reported(run):
    result = run("report", "specs/resnet50.yaml", "--set", "grups=2", "--set", "widht=3")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "specs/resnet50.yaml:9:1: error: --set grups: the spec has no variable 'grups' (did you mean 'groups'?)",
        "specs/resnet50.yaml:9:1: error: --set widht: the spec has no variable 'widht' "
        "(it has: depths, groups, width_per_group, num_classes, stride_in_1x1, expansion)",
    ]


def test_a_bad_set_expression_is_located_at_the_variable(run):
    result = run("report", "specs/resnet50.yaml", "--set", "groups=__import__('os')")
    assert result.exit_code == 2
    assert result.stderr.startswith("specs/resnet50.yaml:11:11: error: --set groups=__import__('os'): ")


def test_an_input_beyond_the_dimension_limit(run):
    result = run("report", "specs/resnet50.yaml", "--input", "3x10000000000000x224")
    assert result.exit_code == 2
    assert result.stderr == ("specs/resnet50.yaml:8:8: error: --input: a dimension of 10,000,000,000,000 is beyond "
                             "the limit of 1,000,000,000,000\n")


def test_the_shipped_specs_still_pass(monkeypatch):
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    for spec in sorted((root / "specs").rglob("*.yaml")):
        assert check_promises(str(spec.relative_to(root)), "--format", "json")[0] == 0
