"""`costcalc import MODEL`: a model file (ONNX) written as a readable costcalc spec with the same counts."""

from __future__ import annotations

import click

from costcalc.cli import library_errors, parse_input, write_output


@click.command("import")
@click.argument("model")
@click.option("-o", "--output", metavar="FILE", help="Write the spec to FILE (default: stdout).")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="Import at this input size (needed when the model's input size is not fixed).")
def command(model, output, input_shape):
    """Write the model file MODEL (ONNX: .onnx) as a readable costcalc spec with the same counts."""
    from costcalc.importers import IMPORTERS, importer_for

    module = importer_for(model)
    if module is None:
        raise click.BadParameter(f"'{model}': costcalc imports {', '.join(IMPORTERS)} files", param_hint="MODEL")
    with library_errors():
        text = module.to_yaml(model, parse_input(input_shape))
    write_output(text, output)
