"""Batched convnets / residual nets: the ensemble equals the per-network loop, shapes, seeds, errors."""

import numpy as np
import pytest
import torch

from repgeom_lite.convnets import (
    ConvEnsembleResult,
    ConvNetArch,
    ResNetArch,
    RMSpropConfig,
    build_model,
    hidden_responses,
    init_conv_params,
    n_hidden_units,
    stacked_forward,
    train_conv_ensemble,
    train_single_convnet,
)

TOL = 1e-10  # float64, batched vs loop
ARCHS = [
    ConvNetArch(channels=(3, 4), hidden=6),
    ResNetArch(widths=(4, 6), blocks=(1, 1), norm="none"),
    ResNetArch(widths=(4, 4, 8), blocks=(2, 1, 1), norm="group", groups=2),
]
IDS = ["convnet", "resnet-none", "resnet-group"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny convolutions: one thread is faster, and far faster on a CPU shared with other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def images(n=40, C=1, H=8, W=8, K=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, C, H, W)).astype(np.float64)
    y = np.arange(n) % K
    return X, y


def module_with(arch, in_shape, K, params):
    model = build_model(arch, in_shape, K).to_empty(device="cpu").to(torch.float64)
    model.load_state_dict(params)
    return model


@pytest.mark.parametrize("arch", ARCHS, ids=IDS)
def test_batched_training_equals_per_network_loop(arch):
    """STYLE point 7: the stacked computation gives each network's plain-PyTorch weights."""
    X, y = images(n=28)
    cfg = RMSpropConfig(lr=3e-3, epochs=2, batch_size=12, decay=1e-2)  # 28 / 12: a partial batch
    seeds, data_seeds = [3, 4, 5], [7, 8, 9]
    res = train_conv_ensemble(arch, X, y, seeds, data_seeds=data_seeds, config=cfg, n_classes=4,
                              dtype=torch.float64, progress=False, device="cpu")
    for e, (s, ds) in enumerate(zip(seeds, data_seeds)):
        model, losses = train_single_convnet(arch, X, y, s, data_seed=ds, config=cfg, n_classes=4)
        for name, p in model.state_dict().items():
            np.testing.assert_allclose(res.params[name][e].numpy(), p.numpy(), atol=TOL, rtol=0, err_msg=name)
        np.testing.assert_allclose(res.train_loss[e, 1:], losses, atol=TOL, rtol=0)
    # training moved the weights (the comparison is not trivially between initial states)
    init = init_conv_params(arch, (1, 8, 8), 4, seeds[0], dtype=torch.float64)
    assert max(float((res.params[k][0] - init[k]).abs().max()) for k in init) > 1e-3


@pytest.mark.parametrize("arch", ARCHS, ids=IDS)
@pytest.mark.parametrize("hidden", ["pre", "post"])
def test_stacked_forward_equals_modules(arch, hidden):
    X, _ = images(n=5, C=3)
    seeds = [0, 1]
    per = [init_conv_params(arch, (3, 8, 8), 4, s, dtype=torch.float64) for s in seeds]
    P = {k: torch.stack([p[k] for p in per]) for k in per[0]}
    if isinstance(arch, ResNetArch) and arch.norm == "none":  # zero-initialised branches: perturb them
        gen = torch.Generator().manual_seed(0)
        P = {k: v + 0.1 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in P.items()}
        per = [{k: v[e] for k, v in P.items()} for e in range(2)]
    x = torch.as_tensor(X)
    x_each = torch.stack([x, x.flip(0)])  # (E, B, C, H, W): different images per network
    logits_shared, h_shared = stacked_forward(arch, P, x, hidden)
    logits_each, h_each = stacked_forward(arch, P, x_each, hidden)
    for e in range(2):
        model = module_with(arch, (3, 8, 8), 4, per[e])
        ref_logits, ref_h = model(x, hidden=hidden)
        np.testing.assert_allclose(logits_shared[e].numpy(), ref_logits.detach().numpy(), atol=TOL)
        np.testing.assert_allclose(h_shared[e].numpy(), ref_h.detach().numpy(), atol=TOL)
        ref_logits, ref_h = model(x_each[e], hidden=hidden)
        np.testing.assert_allclose(logits_each[e].numpy(), ref_logits.detach().numpy(), atol=TOL)
        np.testing.assert_allclose(h_each[e].numpy(), ref_h.detach().numpy(), atol=TOL)
    assert h_shared.shape == (2, 5, n_hidden_units(arch))


def test_pre_and_post_hidden_differ_by_relu_for_convnet():
    arch = ConvNetArch(channels=(2, 2), hidden=5)
    p = init_conv_params(arch, (1, 8, 8), 3, 0, dtype=torch.float64)
    model = module_with(arch, (1, 8, 8), 3, p)
    x = torch.as_tensor(images(n=4)[0])
    _, pre = model(x, hidden="pre")
    _, post = model(x, hidden="post")
    np.testing.assert_allclose(post.detach().numpy(), np.maximum(pre.detach().numpy(), 0))


def test_num_threads_is_restored():
    X, y = images(n=8)
    before = torch.get_num_threads()
    train_conv_ensemble(ConvNetArch((2, 2), 3), X, y, [0], config=RMSpropConfig(epochs=1, batch_size=4),
                        progress=False, device="cpu", num_threads=2)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads must be >= 1"):
        train_conv_ensemble(ConvNetArch((2, 2), 3), X, y, [0], progress=False, num_threads=0)


def test_recorded_responses_and_hidden_responses():
    X, y = images(n=24)
    arch = ConvNetArch(channels=(2, 3), hidden=4)
    cfg = RMSpropConfig(lr=1e-3, epochs=2, batch_size=8)
    res = train_conv_ensemble(arch, X, y, [0, 1], config=cfg, X_record=X[:6], record_epochs=[0, 1],
                              X_eval=X, y_eval=y, dtype=torch.float64, progress=False, device="cpu")
    assert isinstance(res, ConvEnsembleResult)
    assert sorted(res.recorded) == [0, 1, 2]  # the final epoch is always recorded
    assert res.recorded[2].shape == (2, 6, 4)
    np.testing.assert_allclose(hidden_responses(res, X[:6], device="cpu"), res.recorded[2], atol=TOL)
    init = init_conv_params(arch, (1, 8, 8), 4, 1, dtype=torch.float64)
    _, h0 = module_with(arch, (1, 8, 8), 4, init)(torch.as_tensor(X[:6]), hidden="pre")
    np.testing.assert_allclose(res.recorded[0][1], h0.detach().numpy(), atol=TOL)
    assert res.train_loss.shape == res.eval_acc.shape == (2, 3)
    assert np.all((res.eval_acc >= 0) & (res.eval_acc <= 1))
    assert res.n_networks == 2 and set(res.network_params(0)) == set(res.params)


def test_training_learns_a_separable_task():
    """Sanity: two classes that differ in brightness are learned by both architectures."""
    rng = np.random.default_rng(1)
    y = np.arange(64) % 2
    X = (rng.random((64, 1, 8, 8)) * 0.2 + 0.6 * y[:, None, None, None]).astype(np.float32)
    for arch in (ConvNetArch(channels=(4, 4), hidden=8), ResNetArch(widths=(4, 8), blocks=(1, 1))):
        res = train_conv_ensemble(arch, X, y, [0, 1], config=RMSpropConfig(lr=1e-2, epochs=6, batch_size=16),
                                  X_eval=X, y_eval=y, progress=False, device="cpu")
        assert res.eval_acc[:, -1].min() > 0.9, (arch, res.eval_acc)
        assert res.train_loss[:, -1].max() < res.train_loss[:, 0].min()


def test_seeds_are_explicit_and_global_rng_untouched():
    arch = ResNetArch(widths=(4, 8), blocks=(1, 1), norm="group", groups=2)
    state = torch.get_rng_state()
    a = init_conv_params(arch, (1, 8, 8), 3, 11)
    b = init_conv_params(arch, (1, 8, 8), 3, 11)
    c = init_conv_params(arch, (1, 8, 8), 3, 12)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["stem.weight"], c["stem.weight"])
    # zero-initialised residual branches only without normalisation
    assert float(init_conv_params(ResNetArch((4,), (1,)), (1, 8, 8), 3, 0)["blocks.0.conv2.weight"].abs().max()) == 0
    assert float(a["blocks.0.conv2.weight"].abs().max()) > 0
    assert torch.equal(a["stem_norm.weight"], torch.ones(4))


def test_glorot_and_he_scales():
    conv = init_conv_params(ConvNetArch((32, 32), 256), (1, 28, 28), 10, 0, dtype=torch.float64)
    w = conv["conv2.weight"]  # fan_in = fan_out = 32 * 9 -> limit sqrt(6 / 576)
    assert float(w.abs().max()) <= np.sqrt(6 / 576) + 1e-12
    assert float(w.std()) == pytest.approx(np.sqrt(6 / 576) / np.sqrt(3), rel=0.05)
    res = init_conv_params(ResNetArch((32,), (1,), norm="group"), (1, 8, 8), 10, 0, dtype=torch.float64)
    assert float(res["blocks.0.conv1.weight"].std()) == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.05)
    assert float(conv["fc1.bias"].abs().max()) == 0


def test_resnet18_configuration_and_colour_images():
    arch = ResNetArch.resnet18()
    assert (arch.widths, arch.blocks, arch.norm) == ((64, 128, 256, 512), (2, 2, 2, 2), "group")
    model = build_model(arch, (3, 32, 32), 100)
    n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert n_conv == 1 + 16 + 3  # stem, 8 blocks x 2, 3 projection shortcuts
    small = ResNetArch(widths=(4, 8), blocks=(1, 1), norm="group", groups=4)
    X, y = images(n=8, C=3, H=12, W=12)
    res = train_conv_ensemble(small, X, y, [0, 1], config=RMSpropConfig(epochs=1, batch_size=4),
                              progress=False, device="cpu")
    assert hidden_responses(res, X, device="cpu").shape == (2, 8, 8)


# ----------------------------------------------------------------------------- errors
def test_architecture_errors():
    with pytest.raises(ValueError, match="channels must be two positive ints"):
        ConvNetArch(channels=(3,))
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        ConvNetArch(hidden=0)
    with pytest.raises(ValueError, match="widths must be positive ints"):
        ResNetArch(widths=())
    with pytest.raises(ValueError, match="blocks must give a positive number of blocks per stage"):
        ResNetArch(widths=(4, 8), blocks=(1,))
    with pytest.raises(ValueError, match="norm must be 'none' or 'group'"):
        ResNetArch(norm="batch")
    with pytest.raises(ValueError, match="groups = 3 must divide every width"):
        ResNetArch(widths=(4, 8), norm="group", groups=3)
    with pytest.raises(TypeError, match="arch must be a ConvNetArch or a ResNetArch"):
        build_model("resnet", (1, 8, 8), 10)
    with pytest.raises(ValueError, match="at least 4x4 pixels"):
        build_model(ConvNetArch(), (1, 3, 3), 10)


def test_optimizer_config_errors():
    for kwargs, msg in [
        ({"lr": 0}, "lr must be a positive number"),
        ({"epochs": -1}, "epochs must be >= 0"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"rho": 1.0}, "rho must be in"),
        ({"eps": 0}, "eps must be > 0"),
        ({"decay": -1}, "decay must be >= 0"),
    ]:
        with pytest.raises(ValueError, match=msg):
            RMSpropConfig(**kwargs)


def test_training_input_errors():
    X, y = images(n=8)
    arch = ConvNetArch(channels=(2, 2), hidden=3)
    cfg = RMSpropConfig(epochs=1, batch_size=4)
    kw = dict(config=cfg, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"images must have shape \(n, C, H, W\)"):
        train_conv_ensemble(arch, X[:, 0], y, [0], **kw)
    with pytest.raises(ValueError, match="labels must have shape"):
        train_conv_ensemble(arch, X, y[:3], [0], **kw)
    with pytest.raises(ValueError, match="seeds must list at least one network seed"):
        train_conv_ensemble(arch, X, y, [], **kw)
    with pytest.raises(ValueError, match="data_seeds must have one entry per seed"):
        train_conv_ensemble(arch, X, y, [0, 1], data_seeds=[0], **kw)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        train_conv_ensemble(arch, X, y, [0], n_classes=2, **kw)
    with pytest.raises(ValueError, match="hidden must be 'pre' or 'post'"):
        train_conv_ensemble(arch, X, y, [0], hidden="relu", **kw)
    with pytest.raises(ValueError, match="record_epochs must lie in 0..1"):
        train_conv_ensemble(arch, X, y, [0], X_record=X, record_epochs=[5], **kw)
    with pytest.raises(ValueError, match="X_record images must have shape"):
        train_conv_ensemble(arch, X, y, [0], X_record=X[:, :, :4], **kw)
    with pytest.raises(ValueError, match="X_eval must have labels"):
        train_conv_ensemble(arch, X, y, [0], X_eval=X, **kw)
    res = train_conv_ensemble(arch, X, y, [0, 1], **kw)
    with pytest.raises(ValueError, match="X images must have shape"):
        hidden_responses(res, X[:, :, :5], device="cpu")
    with pytest.raises(ValueError, match="x holds images for 3 networks, the parameters for 2"):
        stacked_forward(arch, res.params, torch.zeros(3, 2, 1, 8, 8))
