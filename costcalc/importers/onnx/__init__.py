"""ONNX model -> costcalc spec, in steps, one module each:

- `reading`: the file's protobuf (never the weights' values) and the records kept per tensor;
- `folding`: constant folding of the exporters' shape arithmetic (no layer);
- `mapping` with `layers` and `patterns`: each ONNX node on a network tensor -> one costcalc op, and multi-node
  patterns -> one op (channel shuffle, swish, MatMul + bias, channel Slices as a split);
- `naming`: spec names from the ONNX nodes' names;
- `writing`: the spec document and its YAML text;
- `importer`: the walk over the graph that ties them together.

An op type costcalc does not know is an error naming the node and its op type, never a silent zero. Parameters come
from the initializers' shapes through the ops (conv and fc weights and biases, batchnorm scale and shift);
batchnorm's running mean and variance are buffers and are not counted.
"""

from __future__ import annotations

from costcalc.errors import Loc, SpecError
from costcalc.importers.onnx.reading import INSTALL_HINT, load
from costcalc.ops import Counts
from costcalc.importers.onnx.writing import write_yaml
from costcalc.spec.loader import YMap

__all__ = ["INSTALL_HINT", "import_document", "import_layers", "read_spec", "to_yaml", "write_yaml"]


def read_spec(path: str, input_shape: tuple | None = None):
    """The costcalc Spec of the ONNX model at `path` (at `input_shape`, per sample, when given)."""
    from costcalc.spec.reader import spec_from_document

    return spec_from_document(path, import_document(path, input_shape))


def to_yaml(path: str, input_shape: tuple | None = None) -> str:
    """The ONNX model at `path` written as a readable costcalc spec (YAML text). The document is checked as
    `report` checks the model (read as a spec, walked), and the text written is read back and walked too: a
    model `report` refuses is refused here, and no text is returned that does not load with the same totals."""
    from costcalc.graph import build
    from costcalc.spec.loader import load_text
    from costcalc.spec.reader import read_partial, spec_from_document

    doc = import_document(path, input_shape)
    expected = _totals(build(spec_from_document(path, doc)))
    text = write_yaml(doc)
    try:
        spec, errors = read_partial(path, doc=load_text(text, path))
        errors.raise_any()
        written = _totals(build(spec))
    except SpecError as e:
        raise SpecError(f"the spec costcalc writes for this model does not load ({e.message}): please report it",
                        Loc(path)) from None
    if written != expected:
        raise SpecError(f"the spec costcalc writes for this model counts {written}, not {expected}: please report "
                        "it", Loc(path))
    return text


def _totals(graph):
    return sum((node.counts for node in graph.nodes), Counts())


def import_document(path: str, input_shape: tuple | None = None) -> YMap:
    """The ONNX model at `path` as a spec document: YMap / YList values located at the ONNX nodes."""
    from costcalc.importers.onnx.importer import Importer

    model, omitted = load(path)
    return Importer(path, model, input_shape, omitted).run()


def import_layers(path: str, input_shape: tuple | None = None) -> tuple:
    """(the spec document of the ONNX model at `path`, the op of each imported layer in order, {ONNX node index:
    position in that order of the layer that does its work}): the nodes a layer was made from, the nodes of a
    pattern it took, and the shape arithmetic folded for it. A node that made no layer (a view, a constant) is
    absent. The walked spec's layers come in the same order (`measure` checks their ops against these)."""
    from costcalc.importers.onnx.importer import Importer

    model, omitted = load(path)
    importer = Importer(path, model, input_shape, omitted)
    doc = importer.run()
    return doc, [layer.op for layer in importer.layers], dict(importer.node_layer)
