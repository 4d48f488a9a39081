"""Commands of the `costcalc` CLI that live in their own module (registered at the end of costcalc.cli)."""
