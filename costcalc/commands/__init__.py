"""Commands of `costcalc` beyond the core ones in costcalc/cli.py, one module each, registered in cli.py."""
