"""`costcalc schema`: the JSON Schema of spec files, for editors."""

from __future__ import annotations

import click


@click.command("schema")
def command():
    """Print the JSON Schema of spec files (for editors: completion and checking while typing). The shipped specs
    point at it with a first line `# yaml-language-server: $schema=...`."""
    from costcalc.schema import schema_text

    click.echo(schema_text(), nl=False)
