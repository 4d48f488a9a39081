"""The calibration's order and sizing of its networks (costcalc.latency.networks): families take turns and, within a
family, its kinds of unit take turns, so that a short calibration (a budget at batch 8 measures about a third of
the networks) still covers every kind; and a network is sized at the calibration's batch, the same networks at
every batch, a unit repeated fewer times at a larger one."""

from costcalc.latency.model import estimate
from costcalc.latency.networks import GUESS, TARGET_S, Network, _kinds_in_turn, _sized, build, kind, repeat_of


def test_a_kind_is_the_name_up_to_its_first_digit():
    assert [kind(name) for name in ("bntok_n16_d128", "dw3s2_c32_hw56", "net_res14", "net3", "net_hybrid7",
                                    "ew_relu_c16_hw56", "pwg8_c64_hw28", "attn0_softmax_d64")] == [
        "bntok_n", "dw", "net_res", "net", "net_hybrid", "ew_relu_c", "pwg", "attn"]


def test_kinds_take_turns_within_a_family_each_in_the_family_order():
    names = ["gemm_n16", "gemm_n49", "ln_n16", "gemm_n64", "bntok_n16", "ln_n49", "bntok_n49", "gemm_n196"]
    order = [n.name for n in _kinds_in_turn([Network(name, "tokens", "") for name in names])]
    # the first turn: one of each kind, in the order the kinds first appear; then the second of each, and so on
    assert order == ["gemm_n16", "ln_n16", "bntok_n16", "gemm_n49", "ln_n49", "bntok_n49", "gemm_n64", "gemm_n196"]


UNIT = (["{op: conv, out: 32, k: 1}", "{op: bn}", "{op: relu}"], (32, 14, 14))


def test_a_network_is_sized_at_the_calibrations_batch():
    one, eight = (_sized("pw_c32_hw14", "pointwise", UNIT[1], UNIT[0], batch=b) for b in (1, 8))
    assert one.name == eight.name and one.family == eight.family
    # each repeat is TARGET_S over one unit's estimate at its batch (costcalc's counts at batch 8), rounded
    for network, batch in ((one, 1), (eight, 8)):
        unit_s = estimate(build(network.text.replace(f"repeat: {repeat_of(network.text)}}}", "repeat: 1}"),
                                batch=batch), GUESS).total_s
        assert repeat_of(network.text) == max(1, min(24, round(TARGET_S / unit_s)))
    assert 1 <= repeat_of(eight.text) < repeat_of(one.text)


def test_the_same_networks_at_every_batch():
    # a unit too long at batch 1 is left out at every batch; one that fits at batch 1 is kept at batch 8, once
    big = (["{op: conv, out: 512, k: 3, pad: 1}"], (512, 56, 56))
    assert _sized("dense_c512_hw56", "dense", big[1], big[0]) is None
    assert _sized("dense_c512_hw56", "dense", big[1], big[0], batch=8) is None
    small = (["{op: conv, out: 64, k: 3, pad: 1}"], (64, 28, 28))
    assert repeat_of(_sized("dense_c64_hw28", "dense", small[1], small[0], batch=8).text) >= 1


def test_the_first_400_networks_cover_every_kind():
    import numpy as np

    from costcalc.latency.networks import interleaved

    networks = interleaved(np.random.default_rng(0))
    kinds = {kind(n.name) for n in networks}
    assert len(networks) > 1500 and len(kinds) > 80  # 1,620 networks of 84 kinds (seed 0)
    assert {kind(n.name) for n in networks[:400]} == kinds  # families alone in turn: 11 kinds missing
