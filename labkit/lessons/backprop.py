"""Lesson 05, backpropagation: a scalar autograd engine, layer gradients by hand, their cost, and the network explorer.

The lesson's notebook writes ``Value`` out for the learner (with two backward rules as an
exercise); ``Value`` here is the same engine filled in, which the cells after the exercise use, so
they run whatever the learner wrote.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from labkit.bench import matmul_flops
from labkit.errors import ParameterError
from labkit.explorer import explorer

ACTIVATIONS = ("relu", "tanh", "sigmoid")

# ---- a scalar autograd engine --------------------------------------------------------------------


class Value:
    """A scalar that remembers how it was computed, so the chain rule can run backwards through it."""

    def __init__(self, data: float, parents: tuple[Value, ...] = (), op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0  # ∂(the Value backward() was called on)/∂self
        self._parents = parents  # the Values this one was computed from
        self._op = op  # the operation that made it (for drawing)
        self._backward: Callable[[], None] = lambda: None  # sends self.grad on to the parents
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:  # ∂(a+b)/∂a = ∂(a+b)/∂b = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:  # tanh'(x) = 1 − tanh(x)²
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), "σ")

        def _backward() -> None:  # σ'(x) = σ(x)·(1 − σ(x))
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward() -> None:  # relu'(x) = 1 if x > 0 else 0
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:  # exp'(x) = exp(x)
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def backward(self) -> None:
        """Fill ``.grad`` of every Value this one depends on, by the chain rule in reverse topological order."""
        order = topological_order(self)
        self.grad = 1.0  # ∂self/∂self
        for v in reversed(order):
            v._backward()


def topological_order(root: Value) -> list[Value]:
    """Every Value ``root`` depends on, each after all the Values it was computed from."""
    order: list[Value] = []
    seen: set[int] = set()

    def visit(v: Value) -> None:
        if id(v) not in seen:
            seen.add(id(v))
            for parent in v._parents:
                visit(parent)
            order.append(v)

    visit(root)
    return order


def neuron(x1: Any, w1: Any, x2: Any, w2: Any, b: Any) -> Any:
    """tanh(x1·w1 + x2·w2 + b): works on Values and on torch tensors alike."""
    return (x1 * w1 + x2 * w2 + b).tanh()


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Central differences (f(x + h·e_i) − f(x − h·e_i)) / 2h for every element i of x (use float64)."""
    grad = torch.zeros_like(x)
    flat, g = x.detach().clone().reshape(-1), grad.reshape(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        up = float(f(flat.reshape(x.shape)))
        flat[i] = old - h
        down = float(f(flat.reshape(x.shape)))
        flat[i] = old
        g[i] = (up - down) / (2 * h)
    return grad


# ---- layers and a two-layer network by hand -------------------------------------------------------


def check_activation(name: str) -> str:
    """``name`` if it is one of ACTIVATIONS, else a one-line ParameterError."""
    if name not in ACTIVATIONS:
        allowed = ", ".join(map(repr, ACTIVATIONS))
        raise ParameterError(f"activation = {name!r} is not allowed: must be one of {allowed}")
    return name


def activate(name: str, z: torch.Tensor) -> torch.Tensor:
    """f(z) for the activation ``name``: relu max(z, 0), tanh, or sigmoid 1/(1 + e^−z)."""
    check_activation(name)
    return {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[name](z)


def activation_grad(name: str, z: torch.Tensor) -> torch.Tensor:
    """f'(z): relu 1[z > 0], tanh 1 − tanh(z)², sigmoid σ(z)(1 − σ(z))."""
    check_activation(name)
    if name == "relu":
        return (z > 0).to(z.dtype)
    a = activate(name, z)
    return 1 - a**2 if name == "tanh" else a * (1 - a)


def activation_module(name: str) -> torch.nn.Module:
    """The torch.nn module of the activation ``name``."""
    check_activation(name)
    return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[name]()


def linear_backward(X: torch.Tensor, W: torch.Tensor, dZ: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """For Z = X Wᵀ + b: dX = dZ W, dW = dZᵀ X, db = dZ summed over the batch."""
    return dZ @ W, dZ.T @ X, dZ.sum(dim=0)


def two_layer_forward(params: dict[str, torch.Tensor], X: torch.Tensor, activation: str = "relu") -> dict:
    """Z1 = X W1ᵀ + b1, A1 = f(Z1), Yhat = A1 W2ᵀ + b2: every intermediate, by name."""
    Z1 = X @ params["W1"].T + params["b1"]
    A1 = activate(activation, Z1)
    Yhat = A1 @ params["W2"].T + params["b2"]
    return {"Z1": Z1, "A1": A1, "Yhat": Yhat}


def two_layer_grads(
    params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor, activation: str = "relu"
) -> tuple[float, dict[str, torch.Tensor]]:
    """Mean squared error of the two-layer network and its gradient for every parameter, by hand."""
    cache = two_layer_forward(params, X, activation)
    dYhat = 2 * (cache["Yhat"] - Y) / Y.numel()  # L = mean((Yhat − Y)²)
    dA1, dW2, db2 = linear_backward(cache["A1"], params["W2"], dYhat)
    dZ1 = dA1 * activation_grad(activation, cache["Z1"])
    _, dW1, db1 = linear_backward(X, params["W1"], dZ1)
    loss = float(((cache["Yhat"] - Y) ** 2).mean())
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def cross_entropy_backward(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∂L/∂Z of L = mean over the batch of logsumexp(Z_n) − Z_n,y_n: (softmax(Z) − onehot(y)) / N."""
    P = torch.exp(Z - Z.max(dim=1, keepdim=True).values)  # shifted by each row's max: never overflows
    P = P / P.sum(dim=1, keepdim=True)
    P[torch.arange(len(y)), y] -= 1
    return P / len(y)


# ---- gradient flow through deep stacks -------------------------------------------------------------


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside: for tiny float64 problems it is faster, and bit for bit repeatable."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---- the cost of backprop ----------------------------------------------------------------------------


def linear_flops(n: int, d_in: int, d_out: int) -> dict[str, int]:
    """FLOPs of a linear layer on n examples: forward X Wᵀ, and backward dX = dZ W, dW = dZᵀ X, db = Σ dZ."""
    return {
        "forward": matmul_flops(n, d_out, d_in),
        "dX": matmul_flops(n, d_in, d_out),
        "dW": matmul_flops(d_out, d_in, n),
        "db": n * d_out,
    }


def deep_stack(depth: int, width: int, activation: str = "relu", seed: int = 0) -> list[torch.nn.Module]:
    """A deep stack: ``depth`` blocks of Linear(width, width) followed by the activation, seeded."""
    torch.manual_seed(seed)
    return [torch.nn.Sequential(torch.nn.Linear(width, width), activation_module(activation)) for _ in range(depth)]


def run_blocks(blocks: Sequence[torch.nn.Module], x: torch.Tensor, segment: int = 0) -> torch.Tensor:
    """Apply ``blocks`` in turn; with ``segment`` = k > 0, checkpoint every k blocks (keep inputs, recompute)."""
    from torch.utils.checkpoint import checkpoint

    if segment <= 0:
        for block in blocks:
            x = block(x)
        return x
    for start in range(0, len(blocks), segment):
        part = torch.nn.Sequential(*blocks[start : start + segment])
        x = checkpoint(part, x, use_reentrant=False)
    return x


# ---- texts ---------------------------------------------------------------------------------------------


def gradient_flow_word(ratio: float) -> str:
    """'vanishes' / 'explodes' / 'flows' for a first-layer / last-layer gradient-norm ratio."""
    if ratio < 1e-2:
        return "vanishes"
    if ratio > 1e2:
        return "explodes"
    return "flows"


# ---- figures -----------------------------------------------------------------------------------------------


def _graph_layout(root: Value) -> dict[int, tuple[float, float]]:
    """(x, y) of each Value: x from the distance to the root, y from the order of the leaves."""
    order = topological_order(root)
    depth = {id(root): 0}
    for v in reversed(order):  # children before parents: a parent sits left of its farthest child
        for p in v._parents:
            depth[id(p)] = max(depth.get(id(p), 0), depth[id(v)] + 1)
    ys: dict[int, float] = {}
    leaves = [0]

    def place(v: Value) -> float:
        if id(v) not in ys:
            if v._parents:
                ys[id(v)] = sum(place(p) for p in v._parents) / len(v._parents)
            else:
                ys[id(v)] = leaves[0]
                leaves[0] += 1
        return ys[id(v)]

    place(root)
    columns: dict[int, list[int]] = {}
    for key in ys:
        columns.setdefault(depth[key], []).append(key)
    for keys in columns.values():  # at least one unit apart within a column, so boxes never overlap
        keys.sort(key=lambda k: ys[k])
        for above, below in zip(keys, keys[1:], strict=False):
            ys[below] = max(ys[below], ys[above] + 1.0)
    return {key: (-3.0 * depth[key], -ys[key]) for key in ys}


def graph_figure(root: Value, title: str = ""):
    """The computational graph of ``root``: each Value's label, value and gradient; each op as a circle."""
    from labkit.plot import figure

    order = topological_order(root)
    where = _graph_layout(root)
    xs = [x for x, _ in where.values()]
    ys = [y for _, y in where.values()]
    width = max(7.0, 1.9 * (max(xs) - min(xs)) / 3 + 3)
    fig, ax = figure(width=width, height=max(2.8, 0.9 * (max(ys) - min(ys)) + 1.6))
    box = {"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": "0.3"}
    for v in order:
        x, y = where[id(v)]
        name = f"{v.label}\n" if v.label else ""
        ax.text(x, y, f"{name}value {v.data:.4f}\ngrad {v.grad:.4f}", ha="center", va="center", fontsize=8.5,
                bbox=dict(box, facecolor="#e8f1fb" if not v._parents else "white"), zorder=3)
        if v._op:
            ox = x - 1.5
            ax.text(ox, y, v._op, ha="center", va="center", fontsize=9,
                    bbox={"boxstyle": "circle,pad=0.3", "facecolor": "#fdebd0", "edgecolor": "0.3"}, zorder=3)
            ax.annotate("", xy=(x - 0.75, y), xytext=(ox + 0.25, y),
                        arrowprops={"arrowstyle": "->", "color": "0.3"}, zorder=2)
            for p in v._parents:
                px, py = where[id(p)]
                ax.annotate("", xy=(ox - 0.2, y), xytext=(px + 0.75, py),
                            arrowprops={"arrowstyle": "->", "color": "0.5", "shrinkA": 2, "shrinkB": 2}, zorder=1)
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def gradient_flow_figure(per_layer: dict[str, list[float]], depths: Sequence[int], ratios: dict[str, list[float]]):
    """Left: ‖∂L/∂W_l‖ per layer of the deepest stack; right: first-layer / last-layer ratio against depth."""
    from labkit.plot import figure

    colors = {"sigmoid": "tab:red", "tanh": "tab:orange", "relu": "tab:blue"}
    fig, (left, right) = figure(2, width=11, height=4.2)
    for name, norms in per_layer.items():
        left.semilogy(range(1, len(norms) + 1), norms, "-o", markersize=3, color=colors[name], label=name)
        right.semilogy(list(depths), ratios[name], "-o", markersize=3, color=colors[name], label=name)
    left.set(xlabel="layer l (1 = nearest the input)", ylabel="‖∂L/∂W_l‖ (log scale)",
             title=f"gradient norm per layer, depth {len(next(iter(per_layer.values())))}, at initialisation")
    right.axhline(1.0, color="gray", linestyle="--", linewidth=1)
    right.set(xlabel="depth (layers)", ylabel="‖∂L/∂W_1‖ / ‖∂L/∂W_last‖ (log scale)",
              title="first layer / last layer, by depth")
    left.legend(fontsize=9)
    right.legend(fontsize=9)
    return fig


def memory_figure(
    depths: Sequence[int], by_batch: dict[int, list[int]], segments: dict[int, int], peaks: dict[int, float]
):
    """Left: bytes saved for backward by depth, per batch size; right: with checkpointing, and predicted peaks."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=11, height=4.0)
    for batch, saved in by_batch.items():
        left.plot(list(depths), [b / 2**20 for b in saved], "-o", markersize=3, label=f"batch {batch}")
    left.set(xlabel="depth (layers)", ylabel="saved for backward (MiB)",
             title="activation memory grows with depth and batch")
    left.set_ylim(bottom=0)
    left.legend(fontsize=9)
    names = ["none" if k == 0 else f"every {k}" for k in segments]
    right.bar(names, [b / 2**20 for b in segments.values()], color="tab:green", label="saved after forward (measured)")
    right.plot(names, [peaks[k] / 2**20 for k in segments], "D--", color="black", markersize=6, linewidth=1,
               label="peak during backward (prediction)")
    right.set(xlabel="checkpoint segments of k layers", ylabel="MiB", title="checkpointing keeps only segment inputs")
    right.set_ylim(0, 1.25 * max(max(segments.values()), max(peaks.values())) / 2**20)
    right.legend(fontsize=9, loc="upper center")
    return fig


# ---- explorer: a 2 → 3 → 1 network on the Value engine --------------------------------------------------

EXPLORER_W1 = ((0.5, -0.6), (0.8, 0.4), (-0.5, 1.0))  # hidden × input; the slider replaces [0][0]
EXPLORER_B1 = (0.1, -0.2, 0.3)
EXPLORER_W2 = (1.0, -0.7, 0.5)
EXPLORER_X2 = 0.5
# The explorer's colour scale for |∂L/∂w|: from the smallest gradient worth telling from 0 to above the
# largest any slider setting reaches (about 105, ReLU with x1 = w11 = −3 and target −2; tested).
EXPLORER_GRAD_RANGE = (1e-4, 1e3)


def explorer_network(x1: float, w: float, target: float, activation: str) -> dict[str, Any]:
    """Forward and backward of ½(ŷ − target)² for the explorer's 2 → 3 → 1 network, on Values."""
    check_activation(activation)
    x = [Value(x1, label="x1"), Value(EXPLORER_X2, label="x2")]
    W1 = [[Value(w if (j, i) == (0, 0) else EXPLORER_W1[j][i], label=f"w{j + 1}{i + 1}") for i in range(2)]
          for j in range(3)]
    b1 = [Value(b, label=f"b{j + 1}") for j, b in enumerate(EXPLORER_B1)]
    W2 = [Value(v, label=f"v{j + 1}") for j, v in enumerate(EXPLORER_W2)]
    z = [W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j] for j in range(3)]
    h = [getattr(zj, activation)() for zj in z]
    yhat = W2[0] * h[0] + W2[1] * h[1] + W2[2] * h[2]
    diff = yhat - target
    loss = 0.5 * diff * diff
    loss.backward()
    return {"x": x, "W1": W1, "b1": b1, "W2": W2, "z": z, "h": h, "yhat": yhat, "loss": loss,
            "target": target, "activation": activation}


def explorer_text(net: dict[str, Any]) -> str:
    """One line: the settings, the loss, and how big the first layer's gradients are next to the second's."""
    g1 = sum(abs(v.grad) for row in net["W1"] for v in row) / 6
    g2 = sum(abs(v.grad) for v in net["W2"]) / 3
    x1, w = net["x"][0].data, net["W1"][0][0].data
    head = (f"{net['activation']}, x1 = {x1:.2f}, w11 = {w:.2f}, target = {net['target']:.2f}: "
            f"ŷ = {net['yhat'].data:.3f}, loss = {net['loss'].data:.4f}; ")
    if g2 == 0:
        return head + "no gradient at all: the output equals the target"
    off = sum(1 for z in net["z"] if z.data <= 0) if net["activation"] == "relu" else 0
    dead = f"; {off} of 3 hidden ReLUs off (their gradients are exactly 0)" if off else ""
    return head + f"mean |∂L/∂W1| = {g1:.3g}, mean |∂L/∂W2| = {g2:.3g} (first layer {g1 / g2:.2g}× the second){dead}"


def explorer_figure(net: dict[str, Any]):
    """The network as a graph: every node's value and gradient; edge colour and width show |∂L/∂w|."""
    import matplotlib as mpl

    from labkit.plot import figure

    fig, ax = figure(width=9.5, height=4.6)
    cmap = mpl.colormaps["viridis_r"]
    low, high = EXPLORER_GRAD_RANGE
    norm = mpl.colors.LogNorm(vmin=low, vmax=high)
    pos_x = {0: (0.0, 1.0), 1: (0.0, -1.0)}
    pos_h = {j: (3.0, 2.0 - 2.0 * j) for j in range(3)}
    pos_y, pos_l = (6.0, 0.0), (8.0, 0.0)

    def edge(a: tuple[float, float], b: tuple[float, float], weight: Value, at: float) -> None:
        g = min(max(abs(weight.grad), low), high)  # an exact 0 is drawn at the bottom of the scale
        width = 0.6 + 5.6 * math.log10(g / low) / math.log10(high / low)  # 0.6 at the bottom, 6.2 at the top
        ax.plot([a[0], b[0]], [a[1], b[1]], color=cmap(norm(g)), linewidth=width, zorder=1, solid_capstyle="round")
        mx, my = a[0] + at * (b[0] - a[0]), a[1] + at * (b[1] - a[1])
        ax.text(mx, my, f"{weight.label} {weight.data:.2f}, ∂ {weight.grad:.2g}", fontsize=6.5, ha="center",
                va="center", color="0.1", zorder=2,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})

    for j in range(3):
        for i in range(2):
            edge(pos_x[i], pos_h[j], net["W1"][j][i], 0.62)
        edge(pos_h[j], pos_y, net["W2"][j], 0.5)
    node = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.3"}
    for i, v in enumerate(net["x"]):
        ax.text(*pos_x[i], f"{v.label}\n{v.data:.2f}\n∂ {v.grad:.2g}", ha="center", va="center", fontsize=8,
                bbox=dict(node, facecolor="#e8f1fb"), zorder=3)
    act = {"relu": "relu", "tanh": "tanh", "sigmoid": "σ"}[net["activation"]]
    for j in range(3):
        z, h = net["z"][j], net["h"][j]
        ax.text(*pos_h[j], f"h{j + 1} = {act}(z)\nz {z.data:.2f}  h {h.data:.2f}\n∂z {z.grad:.2g}  ∂h {h.grad:.2g}",
                ha="center", va="center", fontsize=7.5, bbox=dict(node, facecolor="#f4f4f4" if z.data > 0 or
                                                                  net["activation"] != "relu" else "#dddddd"), zorder=3)
    y = net["yhat"]
    ax.text(*pos_y, f"ŷ\n{y.data:.3f}\n∂ {y.grad:.3g}", ha="center", va="center", fontsize=8, bbox=node, zorder=3)
    ax.text(*pos_l, f"L = ½(ŷ − t)²\nt = {net['target']:.2f}\nL = {net['loss'].data:.4f}", ha="center",
            va="center", fontsize=8, bbox=dict(node, facecolor="#fdebd0"), zorder=3)
    ax.annotate("", xy=(pos_l[0] - 0.85, 0), xytext=(pos_y[0] + 0.45, 0), arrowprops={"arrowstyle": "->"})
    ax.set_xlim(-0.7, 8.9)
    ax.set_ylim(-2.8, 2.8)
    ax.axis("off")
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8, pad=0.01)
    bar.set_label("|∂L/∂w| (edge colour and width)")
    ax.set_title(f"2 → 3 → 1 network, {net['activation']}: values and gradients after backward()")
    return fig


def explorer_render(x1: float, w: float, target: float, activation: str) -> tuple[str, Any]:
    """The explorer's text and figure for these settings."""
    net = explorer_network(x1, w, target, activation)
    return explorer_text(net), explorer_figure(net)


def backprop_explorer(x1: float = 1.0, w: float = 0.5, target: float = 1.0, activation: str = "tanh") -> None:
    """Sliders for x1, the weight w11 and the target, and an activation menu, redraw the network's gradients."""
    check_activation(activation)
    explorer(
        lambda wd: [
            [("x1", wd.FloatSlider(value=x1, min=-3, max=3, step=0.1, description="x1", continuous_update=False)),
             ("w", wd.FloatSlider(value=w, min=-3, max=3, step=0.1, description="w11", continuous_update=False))],
            [("target", wd.FloatSlider(value=target, min=-2, max=2, step=0.1, description="target",
                                       continuous_update=False)),
             ("activation", wd.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation"))],
        ],
        explorer_render,
        x1=x1, w=w, target=target, activation=activation,
    )
