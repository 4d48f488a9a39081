"""specs/README.md is generated from the specs: it must not drift from what costcalc computes."""

import importlib.util

from conftest import ROOT


def test_specs_readme_is_up_to_date():
    spec = importlib.util.spec_from_file_location("specs_readme", ROOT / "scripts" / "specs_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "specs" / "README.md").read_text() == module.render(), \
        "specs/README.md is stale: run python scripts/specs_readme.py"
