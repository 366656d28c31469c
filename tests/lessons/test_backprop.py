"""Lesson 05's module: the Value engine, layer and network gradients, gradient flow, costs, figures and explorer."""

from __future__ import annotations

import io
import math

import pytest
import torch

from labkit.errors import ParameterError
from labkit.footprint import saved_activation_bytes
from labkit.lessons import backprop as bp

# ---- the Value engine


def _every_op(a, b, c):
    return (a * b - c).sigmoid() * (b.exp() + c.relu()) + (a * c).tanh() * 2.0 + 1.5 * a


@pytest.mark.parametrize("point", [(0.4, -1.3, 0.9), (-2.0, 0.5, -0.1), (1.1, 1.2, 3.0)])
def test_value_gradients_match_torch_and_finite_differences(point) -> None:
    values = [bp.Value(v) for v in point]
    out = _every_op(*values)
    out.backward()
    t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    ref = _every_op(*t)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), abs=1e-12)
    assert [v.grad for v in values] == pytest.approx(t.grad.tolist(), abs=1e-12)
    fd = bp.numerical_gradient(lambda u: _every_op(*u), t.detach())
    assert [v.grad for v in values] == pytest.approx(fd.tolist(), abs=1e-7)


def test_a_value_used_twice_collects_both_gradients() -> None:
    a, b = bp.Value(0.5), bp.Value(-1.5)
    (a * b + a.exp()).backward()
    assert a.grad == pytest.approx(-1.5 + math.exp(0.5))
    x = bp.Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_relu_gradient_is_zero_where_off() -> None:
    for start, want in [(-1.0, 0.0), (2.0, 1.0), (0.0, 0.0)]:
        v = bp.Value(start)
        v.relu().backward()
        assert v.grad == want


def test_topological_order_puts_parents_first() -> None:
    a, b = bp.Value(1.0), bp.Value(2.0)
    c = a * b
    d = c + a
    e = d.tanh()
    order = bp.topological_order(e)
    where = {id(v): i for i, v in enumerate(order)}
    assert len(order) == 5 and order[-1] is e
    for v in order:
        assert all(where[id(p)] < where[id(v)] for p in v._parents)


def test_neuron_works_on_values_and_tensors() -> None:
    args = (1.5, -2.0, 0.5, 1.2, 2.0)
    assert bp.neuron(*map(bp.Value, args)).data == pytest.approx(bp.neuron(*map(torch.tensor, args)).item())


def test_numerical_gradient_leaves_x_alone_and_covers_every_element() -> None:
    x = torch.tensor([[0.3, -0.2], [1.0, 0.5]], dtype=torch.float64)
    before = x.clone()
    g = bp.numerical_gradient(lambda u: (u**3).sum(), x)
    assert torch.equal(x, before)
    assert torch.allclose(g, 3 * x**2, atol=1e-8)


# ---- layers and the two-layer network


@pytest.mark.parametrize("name", bp.ACTIVATIONS)
def test_activation_derivative_matches_autograd(name: str) -> None:
    z = torch.linspace(-4, 4, 81, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(bp.activate(name, z).sum(), z)
    assert torch.allclose(bp.activation_grad(name, z.detach()), auto)
    module = bp.activation_module(name)
    assert torch.allclose(module(z.detach()), bp.activate(name, z.detach()))


def test_unknown_activation_is_one_line() -> None:
    with pytest.raises(ParameterError, match="activation = 'swish' is not allowed: must be one of") as err:
        bp.activate("swish", torch.zeros(1))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("n", "d_in", "d_out"), [(5, 3, 4), (1, 7, 2), (4, 4, 4)])
def test_linear_backward_matches_autograd(n: int, d_in: int, d_out: int) -> None:
    g = torch.Generator().manual_seed(n * 100 + d_in * 10 + d_out)
    X, W, b, dZ = (torch.randn(*s, generator=g, dtype=torch.float64) for s in [(n, d_in), (d_out, d_in), (d_out,),
                                                                                 (n, d_out)])
    leaves = [t.clone().requires_grad_() for t in (X, W, b)]
    (leaves[0] @ leaves[1].T + leaves[2]).backward(dZ)
    for mine, leaf in zip(bp.linear_backward(X, W, dZ), leaves, strict=True):
        assert mine.shape == leaf.shape
        assert torch.allclose(mine, leaf.grad, atol=1e-12)


def test_linear_backward_passes_gradcheck() -> None:
    class HandLinear(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, W, b):
            ctx.save_for_backward(X, W)
            return X @ W.T + b

        @staticmethod
        def backward(ctx, dZ):
            return bp.linear_backward(*ctx.saved_tensors, dZ)

    g = torch.Generator().manual_seed(0)
    inputs = tuple(torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_() for s in [(4, 3), (5, 3), (5,)])
    assert torch.autograd.gradcheck(HandLinear.apply, inputs)


def _network(activation: str, seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), bp.activation_module(activation), torch.nn.Linear(2, 1)).double()
    params = {k: p.detach().clone() for k, p in zip(["W1", "b1", "W2", "b2"], net.parameters(), strict=True)}
    return net, params


@pytest.mark.parametrize("activation", bp.ACTIVATIONS)
def test_two_layer_grads_match_autograd(activation: str) -> None:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(6, 2, generator=g, dtype=torch.float64)
    Y = torch.randn(6, 1, generator=g, dtype=torch.float64)
    net, params = _network(activation, seed=2)
    loss = torch.nn.MSELoss()(net(X), Y)
    loss.backward()
    mine, grads = bp.two_layer_grads(params, X, Y, activation)
    assert mine == pytest.approx(loss.item(), abs=1e-12)
    for name, p in zip(["W1", "b1", "W2", "b2"], net.parameters(), strict=True):
        assert grads[name].shape == p.shape
        assert torch.allclose(grads[name], p.grad, atol=1e-10)


@pytest.mark.parametrize(("n", "classes"), [(1, 2), (5, 7), (16, 10)])
def test_cross_entropy_backward_is_autograds_gradient(n: int, classes: int) -> None:
    g = torch.Generator().manual_seed(n + classes)
    Z = torch.randn(n, classes, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(classes, (n,), generator=g)
    torch.nn.functional.cross_entropy(Z, y).backward()
    mine = bp.cross_entropy_backward(Z.detach(), y)
    assert torch.allclose(mine, Z.grad, atol=1e-12)
    assert torch.allclose(mine.sum(dim=1), torch.zeros(n, dtype=torch.float64), atol=1e-12)


def test_cross_entropy_backward_survives_logits_that_overflow_exp() -> None:
    Z = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 2000.0, 1999.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2, 1])
    torch.nn.functional.cross_entropy(Z, y).backward()
    mine = bp.cross_entropy_backward(Z.detach(), y)
    assert torch.isfinite(mine).all() and torch.allclose(mine, Z.grad, atol=1e-12)


# ---- gradient flow (the experiments are written in the notebook; the module keeps the words)


def test_gradient_flow_words() -> None:
    assert [bp.gradient_flow_word(r) for r in (1e-13, 0.85, 2.1, 1e3)] == ["vanishes", "flows", "flows", "explodes"]


# ---- cost


def test_linear_flops_match_torch_flop_counter() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    layer = torch.nn.Linear(24, 40)
    x = torch.randn(16, 24, requires_grad=True)
    want = bp.linear_flops(16, 24, 40)
    with FlopCounterMode(display=False) as counter:
        z = layer(x)
    assert counter.get_total_flops() == want["forward"]
    with FlopCounterMode(display=False) as counter:
        z.backward(torch.ones_like(z))
    assert counter.get_total_flops() == want["dX"] + want["dW"] == 2 * want["forward"]
    assert want["db"] == 16 * 40


@pytest.mark.parametrize("activation", bp.ACTIVATIONS)
def test_autograd_saves_one_activation_per_block_plus_the_input(activation: str) -> None:
    for depth, batch, width in [(3, 8, 16), (6, 5, 32)]:
        blocks = bp.deep_stack(depth, width, activation)
        params = [p for block in blocks for p in block.parameters()]
        x = torch.randn(batch, width)
        _, nbytes = saved_activation_bytes(lambda blocks=blocks, x=x: bp.run_blocks(blocks, x), params)
        assert nbytes == (depth + 1) * batch * width * 4


def test_checkpointing_keeps_segment_inputs_and_the_same_gradients() -> None:
    depth, width, batch = 8, 16, 4
    blocks = bp.deep_stack(depth, width, "relu")
    params = [p for block in blocks for p in block.parameters()]
    x = torch.randn(batch, width)
    one = batch * width * 4
    plain, _ = saved_activation_bytes(lambda: bp.run_blocks(blocks, x), params)
    plain.sum().backward()
    want = [p.grad.clone() for p in params]
    for k in (1, 2, 3, 8):
        for p in params:
            p.grad = None
        out, nbytes = saved_activation_bytes(lambda k=k: bp.run_blocks(blocks, x, segment=k), params)
        assert nbytes == math.ceil(depth / k) * one
        assert torch.allclose(out, plain)
        out.sum().backward()
        assert all(torch.allclose(p.grad, w, atol=1e-6) for p, w in zip(params, want, strict=True))


# ---- figures and the explorer


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_graph_figure_shows_every_value(agg) -> None:
    a, b = bp.Value(0.5, label="a"), bp.Value(-1.5, label="b")
    f = a * b + a.exp()
    f.backward()
    fig = bp.graph_figure(f, "title")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("value" in t and "grad" in t for t in texts) == 5  # a, b, a·b, exp(a), f
    assert {"*", "exp", "+"} <= set(texts)
    layout = bp._graph_layout(f)
    spots = list(layout.values())
    assert len(set(spots)) == len(spots), "two boxes in the same place"


def test_gradient_flow_and_memory_figures_draw(agg) -> None:
    per_layer = {name: [10.0 ** -k for k in range(4)][::-1] for name in bp.ACTIVATIONS}  # 4 layers' norms
    ratios = {name: [1.0, 0.5, 0.1] for name in bp.ACTIVATIONS}
    fig = bp.gradient_flow_figure(per_layer, [2, 3, 4], ratios)
    assert len(fig.axes[0].get_lines()) == 3 and fig.axes[0].get_yscale() == "log"
    fig = bp.memory_figure([2, 4], {8: [100, 200], 32: [400, 800]}, {0: 800, 2: 300}, {0: 800, 2: 500})
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes[1].patches) == 2


def test_explorer_network_matches_torch() -> None:
    for activation in bp.ACTIVATIONS:
        net = bp.explorer_network(0.7, -1.2, 0.3, activation)
        x = torch.tensor([0.7, bp.EXPLORER_X2], dtype=torch.float64)
        W1 = torch.tensor(bp.EXPLORER_W1, dtype=torch.float64)
        W1[0, 0] = -1.2
        W1.requires_grad_()
        h = bp.activate(activation, W1 @ x + torch.tensor(bp.EXPLORER_B1, dtype=torch.float64))
        loss = 0.5 * (torch.tensor(bp.EXPLORER_W2, dtype=torch.float64) @ h - 0.3) ** 2
        loss.backward()
        assert net["loss"].data == pytest.approx(loss.item(), abs=1e-12)
        mine = torch.tensor([[v.grad for v in row] for row in net["W1"]], dtype=torch.float64)
        assert torch.allclose(mine, W1.grad, atol=1e-12)


@pytest.mark.parametrize("activation", bp.ACTIVATIONS)
def test_the_explorer_colour_scale_holds_every_gradient_the_sliders_reach(activation: str) -> None:
    low, high = bp.EXPLORER_GRAD_RANGE
    steps = [-3.0, -1.5, 0.0, 1.5, 3.0]  # the x1 and w11 sliders' range; the target's is −2 to 2
    largest = max(abs(v.grad)
                  for x1 in steps for w in steps for t in (-2.0, 0.0, 2.0)
                  for net in [bp.explorer_network(x1, w, t, activation)]
                  for v in [*net["W1"][0], *net["W1"][1], *net["W1"][2], *net["W2"]])
    assert 1.0 < largest < high, largest


def test_explorer_render_changes_text_and_figure_for_every_control(agg) -> None:
    start = {"x1": 1.0, "w": 0.5, "target": 1.0, "activation": "tanh"}
    text0, fig0 = bp.explorer_render(**start)
    png0 = _png(fig0)
    for name, value in [("x1", -2.0), ("w", 2.5), ("target", -1.0), ("activation", "sigmoid"), ("activation", "relu")]:
        text, fig = bp.explorer_render(**{**start, name: value})
        assert text != text0, f"moving {name} did not change the text"
        assert _png(fig) != png0, f"moving {name} did not change the figure"
    assert "sigmoid" in bp.explorer_render(**{**start, "activation": "sigmoid"})[0]


def test_explorer_texts_name_dead_relus_and_a_zero_loss() -> None:
    assert "2 of 3 hidden ReLUs off" in bp.explorer_render(-2.0, 2.5, -1.0, "relu")[0]
    net = bp.explorer_network(1.0, 0.5, 0.0, "tanh")
    exact = net["yhat"].data
    assert "no gradient at all" in bp.explorer_text(bp.explorer_network(1.0, 0.5, exact, "tanh"))


def test_headless_explorer_prints_its_text(agg, capsys) -> None:
    assert bp.backprop_explorer(1.0, 0.5, 1.0, "sigmoid") is None
    assert "sigmoid, x1 = 1.00" in capsys.readouterr().out
    with pytest.raises(ParameterError, match="activation"):
        bp.backprop_explorer(activation="gelu")
