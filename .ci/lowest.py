"""Print pip constraints pinning each requirement of pyproject.toml to the lowest version it allows.

    python .ci/lowest.py test onnx > lowest.txt && pip install -c lowest.txt '.[test,onnx]'

Only `>=` floors are read (the form pyproject.toml uses); a requirement without one is left free. The floors are
the project's claim; CI installs them to prove it.
"""

import re
import sys
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
requirements = list(project["dependencies"])
for extra in sys.argv[1:]:
    requirements += project["optional-dependencies"][extra]
for requirement in requirements:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*[^;]*?>=\s*([0-9][0-9A-Za-z.]*)", requirement)
    if match:
        print(f"{match.group(1)}=={match.group(2)}")
