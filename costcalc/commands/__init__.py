"""costcalc's commands beyond the core ones in cli.py, one module each, registered at the end of cli.py."""
