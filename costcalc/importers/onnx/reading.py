"""Reading an ONNX file: the model's protobuf, its nodes, and the records the importer keeps per tensor.

Only the graph and the shapes are read, never the weights' values: the protobuf is read without the data of its
large initializers (`wire`), and external data files are never opened, so weights kept in an absent external file
are not needed and a file of weights costs little more memory than its graph."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from costcalc.errors import Loc, SpecError
from costcalc.importers.onnx.wire import WireError, model_bytes

INSTALL_HINT = "reading ONNX files needs the onnx package: pip install 'costcalc[onnx]'"


def load(path: str):
    try:
        import onnx
    except ImportError:
        raise SpecError(INSTALL_HINT, Loc(path)) from None
    if os.path.isdir(path):
        raise SpecError("is a directory, not an ONNX file", Loc(path))
    try:
        data, omitted = model_bytes(path)
        model = onnx.ModelProto.FromString(data)
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", Loc(path)) from None
    except WireError as e:
        raise SpecError(f"not a readable ONNX model: the protobuf is {e}", Loc(path)) from None
    except Exception as e:  # protobuf's DecodeError and friends: the file is not an ONNX model
        raise SpecError(f"not a readable ONNX model ({type(e).__name__}: {e})", Loc(path)) from None
    if not model.HasField("graph"):
        raise SpecError("not an ONNX model: the file holds no graph", Loc(path))
    return model, omitted



FRESH = "fresh"  # Data.last of a Transpose's channels-last view


@dataclass
class Data:
    """A tensor computed from the network's input: `ref` is the spec name that stands for it."""

    shape: tuple  # with the batch
    ref: str
    pending: tuple | None = None  # part of a channel shuffle: ("grouped", g, node) or ("shuffled", g, node)
    padded: tuple | None = None  # the output of a zero Pad a window op takes in: (the unpadded Data, pads, node)
    last: bool | str = False  # channels last: the ONNX tensor is N x H x W x C (`shape` stays N x C x H x W);
    # FRESH straight out of the Transpose (no op has written it in that order yet)
    batch_at: int | None = 0  # the ONNX axis that holds the batch (None: folded into axis 0): `generic`


class Refused(SpecError):
    """A recognizer's refusal: the node is not the structure it knows (the generic rules may still cost it)."""


@dataclass
class Sequence:
    """A sequence of network tensors (SplitToSequence's output, read back by SequenceAt)."""

    items: tuple


@dataclass
class Const:
    """A tensor known before the network runs; `value` is None for a weight whose values were not read yet.
    `param` says it holds learned parameters: an initializer, a graph input that feeds a weight, or what Identity
    or Cast make of one; a tensor the graph computes from Constant nodes alone (dynamo's zero bias) is not."""

    shape: tuple
    value: object = None  # numpy array
    name: str = ""
    param: bool = False
    learned: int | None = None  # learned values behind a constant computed from parameters (a bias table
    # gathered by a fixed index): `generic`
    behind: frozenset = frozenset()  # the sources of those learned values, each counted once: `batch.learned_inputs`
    stored: bool = False  # an initializer or a graph input (a module's tensor), not a Constant node's literal


@dataclass
class Layer:
    name: str
    op: str
    args: dict  # in the op function's form (pairs as tuples)
    inputs: list  # refs
    loc: Loc
    note: str = ""  # the ONNX node(s) it came from, for the written spec's comment
    outputs: int = 1
    module: tuple = ((), None)  # (module path components, the op's name in it): naming.module_path
    open_bias: bool = False  # a MatMul's layer: a bias Add after it is its bias
    weights: tuple = ()  # the stored tensors a weighted layer reads as its weights (`shared`)
    direct: bool = False  # its node reads one of them itself, not through an Identity (`shared`)
    shares: object = None  # the earlier Layer whose weights it reads (`shared.mark`)
    shared: bool = False  # a later layer reads its weights


class MalformedAttribute(ValueError):
    """A node's attribute that cannot be read (a function's reference attribute outside a function)."""


@dataclass
class OnnxNode:
    index: int
    proto: object
    op: str
    name: str
    _attrs: dict | None = field(default=None, repr=False)

    @property
    def attrs(self) -> dict:
        """The node's attributes, read on first use: a malformed one raises MalformedAttribute inside the handling
        of the node that reads it (a dead node's are never read)."""
        if self._attrs is None:
            self._attrs = read_attributes(self.proto)
        return self._attrs

    @property
    def where(self) -> str:
        return f"node '{self.name}' ({self.op})"


def read_attributes(proto) -> dict:
    from onnx import helper

    attrs = {}
    for a in proto.attribute:
        if a.ref_attr_name:
            raise MalformedAttribute(f"attribute '{a.name}' refers to attribute '{a.ref_attr_name}' of an enclosing "
                                     "function, which only a function body may do")
        try:
            attrs[a.name] = helper.get_attribute_value(a)
        except Exception as e:  # onnx's own complaint about an attribute it cannot read
            raise MalformedAttribute(f"attribute '{a.name}' cannot be read ({' '.join(str(e).split())[:200]})") \
                from None
    return attrs



def fmt(shape) -> str:
    return " x ".join(str(d) for d in shape) if len(shape) else "a scalar"


class Taken(set):
    """A set of node indices that also keeps the order they were added in (`order`)."""

    def __init__(self):
        super().__init__()
        self.order: list = []

    def add(self, index: int) -> None:
        if index not in self:
            self.order.append(index)
            super().add(index)

    def update(self, indices) -> None:
        for index in indices:
            self.add(index)
