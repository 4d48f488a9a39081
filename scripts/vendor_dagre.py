"""Refresh the layout library `costcalc view` inlines into its pages: dagre, from the npm registry, with its licence.

    python scripts/vendor_dagre.py [--version 3.1.4]

Runs `npm pack` (npm's own client, no install, no build) for @dagrejs/dagre and for the @dagrejs/graphlib version it
depends on (bundled inside dagre's dist/dagre.min.js), and writes into costcalc/report/view/vendor/:
- dagre.min.js: the package's browser bundle, as published (it defines the global `dagre`);
- LICENSE.dagre and LICENSE.graphlib: the packages' licence files;
- VERSIONS.json: name, version, licence, the registry's integrity hash of each tarball, and the file taken.
Then run the view's tests (tests/test_view*.py): the browser test draws a page with the new bundle.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENDOR = ROOT / "costcalc" / "report" / "view" / "vendor"
BUNDLE = "dist/dagre.min.js"


def pack(spec: str, into: pathlib.Path) -> tuple:
    """(the unpacked package folder, npm pack's record of the tarball) of the npm package `spec` (name@version)."""
    out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(into)], capture_output=True,
                         text=True, check=True, cwd=into)
    (record,) = json.loads(out.stdout)
    folder = into / record["name"].replace("/", "+")
    with tarfile.open(into / record["filename"]) as tar:
        tar.extractall(folder, filter="data")
    return folder / "package", record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="3.1.4", help="the @dagrejs/dagre version (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        dagre, dagre_record = pack(f"@dagrejs/dagre@{args.version}", tmp)
        meta = json.loads((dagre / "package.json").read_text())
        graphlib_version = meta["dependencies"]["@dagrejs/graphlib"]
        graphlib, graphlib_record = pack(f"@dagrejs/graphlib@{graphlib_version}", tmp)
        graphlib_meta = json.loads((graphlib / "package.json").read_text())
        VENDOR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dagre / BUNDLE, VENDOR / "dagre.min.js")
        shutil.copyfile(dagre / "LICENSE", VENDOR / "LICENSE.dagre")
        shutil.copyfile(graphlib / "LICENSE", VENDOR / "LICENSE.graphlib")
        versions = {
            "@dagrejs/dagre": {"version": meta["version"], "license": meta["license"],
                               "integrity": dagre_record["integrity"], "file": BUNDLE, "vendored_as": "dagre.min.js"},
            "@dagrejs/graphlib": {"version": graphlib_meta["version"], "license": graphlib_meta["license"],
                                  "integrity": graphlib_record["integrity"],
                                  "file": f"bundled inside @dagrejs/dagre's {BUNDLE}"},
        }
        (VENDOR / "VERSIONS.json").write_text(json.dumps(versions, indent=1) + "\n")
    print(f"vendored @dagrejs/dagre {meta['version']} (graphlib {graphlib_meta['version']}) into "
          f"{VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
