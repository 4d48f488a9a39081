"""The network's input and the graph inputs that are weights (a file exported with `export_params=False`)."""

from __future__ import annotations

from costcalc.errors import Loc, SpecError
from costcalc.graph import MAX_DIM
from costcalc.importers.onnx.reading import Const, Data, fmt

# the inputs of each op type that hold its weights (by position): a graph input read only there is a parameter
WEIGHT_INPUTS = {"Conv": {1, 2}, "ConvTranspose": {1, 2}, "Gemm": {1, 2}, "MatMul": {1}, "BatchNormalization": {1, 2, 3, 4},
                 "LayerNormalization": {1, 2}, "InstanceNormalization": {1, 2}, "PRelu": {1}}


def network_input(imp) -> tuple:
    inputs = [v for v in imp.graph.input if v.name not in imp.tensors]
    if len(inputs) > 1:
        inputs = weight_inputs(imp, inputs)
    if len(inputs) != 1:
        names = ", ".join(v.name for v in inputs) or "none"
        raise SpecError(f"costcalc reads models with one input; this graph has {len(inputs)} ({names})",
                        Loc(imp.path))
    value = inputs[0]
    dims = []
    for d in value.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
    if any(isinstance(d, int) and d > MAX_DIM for d in dims):
        raise SpecError(f"input '{value.name}' has shape {fmt(dims)}: a size beyond the limit of {MAX_DIM:,}",
                        Loc(imp.path))
    if not 2 <= len(dims) <= 9:
        raise SpecError(f"input '{value.name}' has shape {fmt(dims)}: costcalc reads inputs of a batch and 1 to 8 "
                        "dims per sample (N x C x H x W, N x F, N x L x C, ...)", Loc(imp.path))
    if imp.input_shape is not None:
        if len(imp.input_shape) != len(dims) - 1:
            raise SpecError(f"--input {fmt(imp.input_shape)} does not fit input '{value.name}' of shape "
                            f"{fmt(dims)}", Loc(imp.path))
        sample = imp.input_shape
    else:
        symbolic = [d for d in dims[1:] if not isinstance(d, int) or d < 1]
        if symbolic:
            raise SpecError(f"input '{value.name}' has shape {fmt(dims)}: its size {symbolic[0]!r} is not fixed "
                            "in the file; give it with --input CxHxW", Loc(imp.path))
        sample = tuple(dims[1:])
    batch = dims[0] if isinstance(dims[0], int) and dims[0] >= 1 else 1
    imp.tensors[value.name] = imp.network = Data((batch, *sample), "input")
    imp.ref_shapes["input"] = (batch, *sample)
    imp.batch = batch
    return sample

def weight_inputs(imp, inputs: list) -> list:
    """Graph inputs that are weights (`torch.onnx.export(..., export_params=False)`) become parameters, as
    initializers would be: those read only as the weight, bias, scale or statistics of a layer, with a fixed
    shape. Returns the other inputs."""
    rest = []
    for k, v in enumerate(inputs):
        dims = v.type.tensor_type.shape.dim
        fixed = all(d.HasField("dim_value") for d in dims)
        # torch writes the model's input first: a later one of fixed shape that only the generic rules read
        # (a bias added on tokens, a layer scale, a class token) is a parameter too
        if fixed and (weight_only(imp, v.name) or (k and imp.consumers.get(v.name))):
            shape = imp.dims([d.dim_value for d in dims], f"graph input '{v.name}'")
            # a later integer input is a buffer (an index), its values unread: not a parameter
            imp.tensors[v.name] = Const(shape, None, v.name, param=is_float(v) or weight_only(imp, v.name),
                                         stored=True)
        else:
            rest.append(v)
    return rest

def is_float(value) -> bool:
    from onnx import TensorProto

    return value.type.tensor_type.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16,
                                                 TensorProto.DOUBLE)

def weight_only(imp, name: str, depth: int = 0) -> bool:
    """Whether tensor `name` is read only at weight positions, directly or through Identity nodes."""
    users = imp.consumers.get(name, [])
    if not users or depth > 16:
        return False
    for i in users:
        node = imp.nodes[i]
        if node.op == "Identity":
            if not weight_only(imp, node.proto.output[0], depth + 1):
                return False
        elif not {k for k, t in enumerate(node.proto.input) if t == name} <= WEIGHT_INPUTS.get(node.op, set()):
            return False
    return True
