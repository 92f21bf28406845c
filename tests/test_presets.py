"""The "paper" presets of TimeVQVAE and NeuralMapper against the reference code's sizes.

The reference numbers are the parameter counts of the modules of ML4ITS/TimeVQVAE built
on GunPoint's shape (one channel, length 150, two classes) with configs/config.yaml:

- stage 1, src/timevqvae/models/vq_vae_encdec.py (VQVAEEncoder, VQVAEDecoder) and
  src/timevqvae/vector_quantization/vq.py (VectorQuantize), as src/timevqvae/vqvae.py
  builds them: encoder_l 34 984, decoder_l 19 022, vq_model_l 2 184, encoder_h 21 880,
  decoder_h 4 822, vq_model_h 2 184 (85 076 in all); 9 LF and 74 HF tokens;
- stage 2, src/timevqvae/models/bidirectional_transformer.py (BidirectionalTransformer)
  as src/timevqvae/maskgit.py builds them (transformer_embedding_dim 128): LF 656 592,
  HF 796 884;
- the neural mapper, src/timevqvae/generators/neural_mapper.py (Unet1D with dim 8,
  dim_mults 1/2/4/8, resnet_block_groups 4): 349 153 parameters, of which 34 608 belong to
  the time-conditioning layers (time_mlp and the ResnetBlocks' mlp) that the mapper's
  forward never uses, leaving 314 545.
"""
import numpy as np
import pytest
import torch

from skdd.generative import (MAPPER_PRESETS, TIMEVQVAE_PRESETS, MaskGITPrior, NeuralMapper,
                             TimeVQVAE)
from skdd.nn import AttentionUNet1D

REFERENCE_STAGE1 = {"lf": {"encoder": 34984, "decoder": 19022, "quantizer": 2184},
                    "hf": {"encoder": 21880, "decoder": 4822, "quantizer": 2184}}
REFERENCE_PRIORS = {"lf": 656592, "hf": 796884}
REFERENCE_MAPPER = 314545
GUNPOINT = dict(n_channels=1, length=150, n_classes=2)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _close(ours, reference):
    return abs(ours - reference) <= 0.01 * reference


def _paper_modules():
    gen = TimeVQVAE(preset="paper")
    cfg = gen._config()
    tok = gen._build_tokenizer(cfg, GUNPOINT["n_channels"], GUNPOINT["length"])
    return tok, gen._build_priors(cfg, tok, GUNPOINT["n_classes"])


def test_paper_tokenizer_matches_the_reference_per_module():
    tok, _ = _paper_modules()
    assert (tok.n_tokens_lf, tok.n_tokens_hf) == (9, 74)
    for part, counts in REFERENCE_STAGE1.items():
        branch, vq = tok.branches[part], tok.quantizers[part]
        ours = {"encoder": _count(branch.encoder), "decoder": _count(branch.decoder),
                "quantizer": _count(vq)}
        for name, reference in counts.items():
            assert _close(ours[name], reference), (part, name, ours[name], reference)
    assert _close(_count(tok), 85076)
    # the codebooks: 1024 codes of dimension 8 per part
    assert tuple(tok.quantizers["lf"].embed.shape) == (1024, 8)


def test_paper_priors_match_the_reference():
    tok, priors = _paper_modules()
    assert all(isinstance(p, MaskGITPrior) for p in priors.values())
    for part, reference in REFERENCE_PRIORS.items():
        assert _close(_count(priors[part]), reference), (part, _count(priors[part]))
    assert priors["hf"].n_tokens == 74 and priors["hf"].n_prefix == 9


def test_paper_mapper_matches_the_reference():
    cfg = MAPPER_PRESETS["paper"]
    unet = AttentionUNet1D(1, dim=cfg["dim"], dim_mults=cfg["dim_mults"],
                           dropout=cfg["dropout"])
    assert _close(_count(unet), REFERENCE_MAPPER)
    assert unet(torch.randn(2, 1, 150)).shape == (2, 1, 150)


def test_paper_schedules_follow_the_reference_configuration():
    # configs/config.yaml: max_steps 20000 / 40000 / 3000, batch 32, lr 0.005,
    # choice temperatures 10 (LF) and 0 (HF)
    p = TIMEVQVAE_PRESETS["paper"]
    assert (p["stage1_steps"], p["stage2_steps"], p["batch_size"], p["lr"]) == (
        20000, 40000, (32, 32), 5e-3)
    assert p["choice_temperature"] == (10.0, 0.0)
    m = MAPPER_PRESETS["paper"]
    assert (m["max_iter"], m["batch_size"], m["lr"], m["dropout"]) == (3000, 32, 5e-3, 0.5)


def test_cpu_preset_is_the_default_and_keeps_its_values():
    assert TimeVQVAE().preset == "cpu" and NeuralMapper().preset == "cpu"
    cfg = TimeVQVAE()._config()
    assert (cfg["lr"], cfg["choice_temperature"], cfg["arch"]) == (1e-3, (4.0, 4.0), "compact")
    assert TimeVQVAE(lr=0.01, choice_temperature=2.0)._config()["choice_temperature"] == (2.0, 2.0)
    with pytest.raises(ValueError, match="lr"):
        TimeVQVAE(lr=-1.0)._config()
    with pytest.raises(ValueError, match="choice_temperature"):
        TimeVQVAE(choice_temperature=-1.0)._config()


def test_paper_preset_fits_and_samples():
    rng = np.random.default_rng(0)
    y = np.arange(12) % 2
    t = np.linspace(0, 1, 40)
    X = np.sin(2 * np.pi * (y[:, None] + 1) * t) + 0.1 * rng.standard_normal((12, 40))
    kw = dict(preset="paper", ipc=2, stage1_steps=2, stage2_steps=2, batch_size=4,
              codebook_size=16, n_sampling_steps=2, device="cpu", random_state=0)
    X_syn, y_syn = TimeVQVAE(**kw).fit_resample(X, y)
    again, _ = TimeVQVAE(**kw).fit_resample(X, y)
    assert X_syn.shape == (4, 40) and np.isfinite(X_syn).all()
    np.testing.assert_array_equal(X_syn, again)
    gen = TimeVQVAE(**kw).fit(X, y)
    from sklearn.frozen import FrozenEstimator
    nm = NeuralMapper(FrozenEstimator(gen), tau=1.0, max_iter=2, batch_size=4, preset="paper",
                      device="cpu", random_state=0).fit(X, y)
    assert isinstance(nm.unet_, AttentionUNet1D)
    assert nm.transform(X[:3]).shape == (3, 40)


def test_fused_snake_gradients_match_finite_differences():
    from skdd.nn import Snake
    from skdd.nn._unet import snake
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    a = (0.2 + torch.rand(1, 4, 1, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(snake, (x, a))
    # same values and gradients as the unfused formula, in the module too
    layer = Snake(4).double()
    y = layer(x)
    ref_a = layer.a.abs().clamp_min(1e-4).view(1, -1, 1)
    torch.testing.assert_close(y, x + torch.sin(ref_a * x) ** 2 / ref_a)
    y.sum().backward()
    gx, ga = x.grad.clone(), layer.a.grad.clone()
    x.grad, layer.a.grad = None, None
    (x + torch.sin(ref_a * x) ** 2 / ref_a).sum().backward()
    torch.testing.assert_close(gx, x.grad)
    torch.testing.assert_close(ga, layer.a.grad)


def test_chunked_real_embeddings_equal_the_unchunked_loss():
    from skdd.nn import ConvNet
    from skdd.objectives import DistributionMatching
    torch.manual_seed(0)
    net = ConvNet(1, 3, 8, width=8, depth=2)
    xr, yr = torch.randn(37, 1, 8, 8), torch.arange(37) % 3
    xs, ys = torch.randn(3, 1, 8, 8), torch.arange(3)
    whole = DistributionMatching(net.embed, chunk_size=None).loss(xr, yr, xs, ys, 3)
    for size in (1, 5, 16, 37, 100):
        chunked = DistributionMatching(net.embed, chunk_size=size).loss(xr, yr, xs, ys, 3)
        torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)
    for bad in (0, -3, 2.5, "8"):
        with pytest.raises((ValueError, TypeError), match="chunk_size"):
            DistributionMatching(net.embed, chunk_size=bad)
