"""numpy references of the recurrent layers, as ONNX defines LSTM, GRU and RNN (the equations of the operators'
specification, gate orders i o f c and z r h, weights W, R, B, P in ONNX's layout), batch first: the input
N x T x I (or N x T x M x I, M sequences a sample), the outputs Y N x T x D x H (N x T x D x M x H), Y_h and Y_c
N x D x H (N x D x M x H). The products with W and R run through the tally's matmul, which counts their
multiply-adds from the operands; what each layer read and wrote is recorded once, from the arrays it used."""

from __future__ import annotations

import numpy as np

from costcalc.reference.tally import matmul, touched

__all__ = ["lstm", "gru", "rnn", "RECURRENT_RUNNERS"]

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": _sigmoid}


def _sequences(x: np.ndarray) -> np.ndarray:
    """N x T x I or N x T x M x I as ONNX's T x B x I, B = N (or N * M)."""
    if x.ndim == 3:
        return x.transpose(1, 0, 2)
    n, t, m, i = x.shape
    return x.transpose(1, 0, 2, 3).reshape(t, n * m, i)


def _back(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """ONNX's T x D x B x H (or D x B x H) back to the batch-first layout of `like`'s sample axes."""
    lead = y.shape[:-2]
    if like.ndim == 3:
        return np.ascontiguousarray(np.moveaxis(y, -2, 0))
    n, m = like.shape[0], like.shape[2]
    return np.ascontiguousarray(np.moveaxis(y.reshape(*lead, n, m, y.shape[-1]), -3, 0))


def _states(state, directions: int, batch: int, hidden: int) -> np.ndarray:
    """An initial state N x D x H (or N x D x M x H) as D x B x H; zeros when absent."""
    if state is None:
        return np.zeros((directions, batch, hidden), np.float32)
    return np.moveaxis(state, 0, 1).reshape(directions, batch, hidden)


def _run(cell: str, x, w, r, b, p, h0, c0, direction, steps, linear_before_reset, activation, learned=None):
    """`learned`: the learned vector h0 and c0 were read from (then they are no inputs: it is the parameter read)."""
    seq = _sequences(x)
    t_all, batch, _ = seq.shape
    directions, gh, _ = w.shape
    hidden = gh // GATES[cell]
    steps = t_all if steps is None else steps
    y = np.zeros((t_all, directions, batch, hidden), np.float32)
    last_h = np.zeros((directions, batch, hidden), np.float32)
    last_c = np.zeros((directions, batch, hidden), np.float32)
    h_init, c_init = _states(h0, directions, batch, hidden), _states(c0, directions, batch, hidden)
    for d in range(directions):
        wb, rb = (b[d, :gh], b[d, gh:]) if b is not None else (0, 0)
        projected = matmul(seq[:steps], w[d].T) + wb  # W x_t of every step at once: (steps, B, G H)
        h, c = h_init[d], c_init[d]
        order = range(steps) if direction == "forward" or (direction == "bidirectional" and d == 0) \
            else range(steps - 1, -1, -1)
        for step in order:
            xg = projected[step]
            if cell == "lstm":
                gates = xg + matmul(h, r[d].T) + rb
                i, o, f, g = np.split(gates, 4, axis=-1)
                if p is not None:
                    pi, po, pf = np.split(p[d], 3)
                    i, f = i + pi * c, f + pf * c
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o + (po * c if p is not None else 0)) * np.tanh(c)
            elif cell == "gru":
                rz, rh = r[d][:2 * hidden], r[d][2 * hidden:]
                rbz, rbh = (rb[:2 * hidden], rb[2 * hidden:]) if b is not None else (0, 0)
                z_r = _sigmoid(xg[:, :2 * hidden] + matmul(h, rz.T) + rbz)
                z, reset = z_r[:, :hidden], z_r[:, hidden:]
                if linear_before_reset:
                    candidate = np.tanh(xg[:, 2 * hidden:] + reset * (matmul(h, rh.T) + rbh))
                else:
                    candidate = np.tanh(xg[:, 2 * hidden:] + matmul(reset * h, rh.T) + rbh)
                h = (1 - z) * candidate + z * h
            else:
                h = _ACTIVATIONS[activation](xg + matmul(h, r[d].T) + rb)
            y[step, d] = h
        last_h[d] = h
        last_c[d] = c if cell == "lstm" else 0
    outputs = [_back(y, x), _back(last_h, x)] + ([_back(last_c, x)] if cell == "lstm" else [])
    read = x[:, :steps]
    states = [h0, c0] if learned is None else []
    touched(inputs=[read, *states], params=[w, r, b, p, learned], outputs=outputs)
    return outputs


def lstm(x, w, r, b=None, p=None, h0=None, c0=None, direction="forward", steps=None):
    return _run("lstm", x, w, r, b, p, h0, c0, direction, steps, False, "tanh")


def gru(x, w, r, b=None, h0=None, direction="forward", steps=None, linear_before_reset=False):
    return _run("gru", x, w, r, b, None, h0, None, direction, steps, linear_before_reset, "tanh")


def rnn(x, w, r, b=None, h0=None, direction="forward", steps=None, activation="tanh"):
    return _run("rnn", x, w, r, b, None, h0, None, direction, steps, False, activation)


def _runner(cell: str):
    def run(rng, args, x, *states):
        hidden, features = args["hidden"], x.shape[-1]
        directions = 2 if args["direction"] == "bidirectional" else 1
        gh = GATES[cell] * hidden
        w = rng.standard_normal((directions, gh, features), dtype=np.float32) / np.float32(np.sqrt(features))
        r = rng.standard_normal((directions, gh, hidden), dtype=np.float32) / np.float32(np.sqrt(hidden))
        b = np.float32(0.1) * rng.standard_normal((directions, 2 * gh), dtype=np.float32) if args["bias"] else None
        p = np.float32(0.1) * rng.standard_normal((directions, 3 * hidden), dtype=np.float32) \
            if args.get("peepholes") else None
        h0, c0 = (list(states) + [None, None])[:2]
        learned = None
        if args.get("learned_states") and not states:  # constant initial states read from a learned vector, as an
            # exporter's Slice / Expand of nn.Parameter h_0 (and c_0) reads them: its values in order, repeated
            learned = np.float32(0.1) * rng.standard_normal(args["learned_states"], dtype=np.float32)
            shape = (x.shape[0], directions, *x.shape[2:-1], hidden)
            h0 = np.resize(learned, shape)
            c0 = np.resize(learned[::-1], shape) if cell == "lstm" else None
        outputs = _run(cell, x, w, r, b, p, h0, c0, args["direction"], args.get("steps"),
                       args.get("linear_before_reset", False), args.get("activation", "tanh"), learned)
        return tuple(outputs), (w, r, b, p, learned)

    return run


RECURRENT_RUNNERS = {cell: _runner(cell) for cell in GATES}
