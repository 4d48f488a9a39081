"""Only what pyproject.toml cannot say: the zoo in specs/ ships inside the package as costcalc.specs (a directory
mapping, so the YAML files live once in git), beside every costcalc* package. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["costcalc*"]), "costcalc.specs", "costcalc.specs.guidelines"],
      package_dir={"costcalc.specs": "specs"})
