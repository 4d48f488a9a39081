"""The `costcalc` commands, one module each, each a thin click command named `command`: it parses its options, calls
one library function (costcalc.api, costcalc.api_measure, ...) and hands the result to a reporter. The group in
costcalc.cli imports a module when its command is named; the modules import the shared options from there."""
