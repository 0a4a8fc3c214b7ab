"""Sparse attention reference path against the spec and a transcription of the released code."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.reference.released import ReleasedNLSA
from core.attention import NonLocalSparseAttention, compute_buckets, hash_codes, n_buckets


def make_pair(channels=16, n_hashes=4, chunk_size=16, res_scale=1.0):
    torch.manual_seed(123)
    ours = NonLocalSparseAttention(channels, n_hashes=n_hashes, chunk_size=chunk_size, res_scale=res_scale)
    released = ReleasedNLSA(n_hashes=n_hashes, channels=channels, chunk_size=chunk_size, res_scale=res_scale)
    released.load_state_dict(ours.state_dict(), strict=True)
    return ours, released


def test_state_dict_keys_as_released():
    keys = set(NonLocalSparseAttention(64).state_dict())
    assert keys == {"conv_match.0.weight", "conv_match.0.bias", "conv_assembly.0.weight", "conv_assembly.0.bias"}
    sd = NonLocalSparseAttention(256).state_dict()
    assert tuple(sd["conv_match.0.weight"].shape) == (64, 256, 3, 3)
    assert tuple(sd["conv_assembly.0.weight"].shape) == (256, 256, 1, 1)


@pytest.mark.parametrize("batch", [1, 2])
def test_embeddings_are_the_released_convolutions_laid_out_by_position(batch):
    """embed() gives rows per position (contiguous, for fast gathers); the 1x1 assembly conv
    computed as a linear map over channels is the released convolution to float rounding."""
    torch.manual_seed(0)
    module = NonLocalSparseAttention(32)
    inp = torch.randn(batch, 32, 9, 7)
    x, y = module.embed(inp)
    assert x.is_contiguous() and y.is_contiguous()
    assert x.shape == (batch, 63, 8) and y.shape == (batch, 63, 32)
    with torch.no_grad():
        torch.testing.assert_close(y, module.conv_assembly(inp).flatten(2).transpose(1, 2), rtol=0, atol=1e-5)
        assert torch.equal(x, module.conv_match(inp).flatten(2).transpose(1, 2))


@pytest.mark.parametrize(
    "length,chunk,expected",
    [(143, 144, 0), (144, 144, 2), (288, 144, 2), (432, 144, 4), (40000, 144, 128), (10 * 144, 144, 10)],
)
def test_bucket_count_rule(length, chunk, expected):
    assert n_buckets(length, chunk) == expected


@pytest.mark.parametrize(
    "hw",
    [(4, 4), (4, 5), (6, 7), (8, 8), (9, 11), (5, 13)],  # L = k, L in (k, 2k), padding, many chunks
)
@pytest.mark.parametrize("n", [1, 2])
def test_matches_released_after_manual_seed(hw, n):
    ours, released = make_pair(chunk_size=16, res_scale=0.1)
    x = torch.randn(n, 16, *hw)
    with torch.no_grad():
        a = ours(x, generator=torch.Generator().manual_seed(5))
        torch.manual_seed(5)
        b = released(x)
    assert torch.allclose(a, b, atol=1e-6, rtol=0), (a - b).abs().max()


def test_generator_draws_equal_manual_seed_draws_and_leave_global_rng_alone():
    ours, released = make_pair(chunk_size=16)
    x = torch.randn(1, 16, 10, 10)
    state = torch.random.get_rng_state()
    with torch.no_grad():
        first = ours(x, generator=torch.Generator().manual_seed(9))
    assert torch.equal(torch.random.get_rng_state(), state), "a given generator must not touch the global RNG"
    with torch.no_grad():
        torch.manual_seed(9)
        from_global = ours(x)  # no generator: the global CPU RNG, like the release
    assert torch.equal(first, from_global)


def test_seed_changes_buckets_and_same_seed_repeats():
    ours, _ = make_pair(chunk_size=16)
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        emb, _ = ours.embed(x)
        b1 = ours.hash(emb, torch.Generator().manual_seed(1))
        b1_again = ours.hash(emb, torch.Generator().manual_seed(1))
        b2 = ours.hash(emb, torch.Generator().manual_seed(2))
    assert torch.equal(b1.codes, b1_again.codes)
    assert not torch.equal(b1.codes, b2.codes)
    assert b1.codes.min() >= 0 and b1.codes.max() < b1.buckets


def test_sort_is_stable_raster_order_within_a_bucket():
    ours, _ = make_pair(chunk_size=16)
    x = torch.randn(1, 16, 12, 12)
    with torch.no_grad():
        emb, _ = ours.embed(x)
        bk = ours.hash(emb, torch.Generator().manual_seed(3))
    length = bk.length
    flat_codes = (bk.codes + torch.arange(4).view(1, -1, 1) * bk.buckets).reshape(1, -1)
    sorted_codes = flat_codes.gather(1, bk.order)[0]
    order = bk.order[0]
    assert torch.all(sorted_codes[1:] >= sorted_codes[:-1])
    same = sorted_codes[1:] == sorted_codes[:-1]
    assert torch.all(order[1:][same] > order[:-1][same]), "ties must keep raster order"
    assert torch.equal(torch.sort(order).values, torch.arange(4 * length))


def test_smaller_than_a_chunk_is_dense_attention():
    ours, released = make_pair(chunk_size=144, res_scale=0.5)
    x = torch.randn(2, 16, 7, 9)  # L = 63 < k: the release crashes here
    with pytest.raises(Exception):
        with torch.no_grad():
            released(x)
    with torch.no_grad():
        out = ours(x, generator=torch.Generator().manual_seed(0))
        q, y = ours.embed(x)  # (N, L, C/4), (N, L, C)
        keys = F.normalize(q, dim=-1, eps=5e-5)
        dense = torch.softmax(q @ keys.transpose(1, 2), dim=-1) @ y  # (N, L, C)
        expected = dense.transpose(1, 2).reshape(2, 16, 7, 9) * 0.5 + x
    assert torch.allclose(out, expected, atol=1e-5)


def test_backward_matches_released():
    ours, released = make_pair(chunk_size=16)
    x = torch.randn(1, 16, 9, 10, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    ours(x, generator=torch.Generator().manual_seed(4)).square().sum().backward()
    torch.manual_seed(4)
    released(x2).square().sum().backward()
    assert torch.allclose(x.grad, x2.grad, atol=1e-5)
    for (name, p), (_, p2) in zip(ours.named_parameters(), released.named_parameters()):
        assert torch.allclose(p.grad, p2.grad, atol=1e-4, rtol=1e-4), name


def test_buckets_partition_every_round():
    x = torch.randn(1, 300, 8)
    bk = compute_buckets(x, n_hashes=3, chunk_size=16, generator=torch.Generator().manual_seed(0))
    assert bk.codes.shape == (1, 3, 300)
    assert bk.buckets == n_buckets(300, 16) == 18
    assert bk.order.shape == (1, 900)


# ------------------------------------------------------------------ blocked path vs reference


def _attend_and_backprop(module, inp, path: str, *, n_hashes: int, block_scores=None):
    """One path's (output, lse) and gradients (input, match and assembly weights) for a fixed loss."""
    from core.attention import PATHS as paths
    from core.attention import combine_rounds

    x_in = inp.clone().requires_grad_(True)
    x, y = module.embed(x_in)
    bk = module.hash(x, torch.Generator().manual_seed(3))
    extra = {} if path == "reference" else {"block_scores": block_scores}
    att = paths[path](x, y, bk, n_hashes=n_hashes, **extra)
    out = combine_rounds(att)
    weights = torch.linspace(-1, 1, out.numel(), device=out.device).reshape(out.shape)
    (out * weights).sum().backward()
    grads = (x_in.grad, module.conv_match[0].weight.grad.clone(), module.conv_assembly[0].weight.grad.clone())
    module.zero_grad()
    return (out.detach(), att.lse.detach()), grads


@pytest.mark.parametrize("shape", [(2, 16, 13, 11), (1, 16, 4, 3), (1, 16, 24, 24)])
@pytest.mark.parametrize("block_scores", [1, 5000, 2**23])
@pytest.mark.parametrize("fast", ["blocked", "flash-cpu", "fast"])
def test_fast_paths_match_reference(shape, block_scores, fast):
    torch.manual_seed(0)
    module = NonLocalSparseAttention(16, n_hashes=3, chunk_size=16)
    inp = torch.randn(*shape)
    ref_out, ref_grads = _attend_and_backprop(module, inp, "reference", n_hashes=3)
    out, grads = _attend_and_backprop(module, inp, fast, n_hashes=3, block_scores=block_scores)
    for a, b in zip(ref_out, out):
        assert (a - b).abs().max() <= 1e-4
    if fast != "flash-cpu":  # the fused kernel is inference-only (its backward drops d lse)
        for a, b in zip(ref_grads, grads):
            assert (a - b).abs().max() <= 1e-4


@pytest.mark.parametrize("shape", [(2, 16, 13, 11), (1, 16, 4, 3), (1, 16, 24, 24), (1, 16, 17, 19)])
@pytest.mark.parametrize("block_scores", [1, 5000, 2**23])
def test_the_streamed_inference_path_matches_the_reference(shape, block_scores):
    """Rounds in turn and combined online: the reference's combined output to float rounding."""
    from core.attention import PATHS as paths
    from core.attention import combine_rounds
    from core.attention.streamed import sparse_attention_streamed

    torch.manual_seed(0)
    module = NonLocalSparseAttention(16, n_hashes=3, chunk_size=16)
    with torch.no_grad():
        x, y = module.embed(torch.randn(*shape))
        bk = module.hash(x, torch.Generator().manual_seed(3))
        want = combine_rounds(paths["reference"](x, y, bk, n_hashes=3))
        got = sparse_attention_streamed(x, y, bk, n_hashes=3, block_scores=block_scores)
    assert got.shape == want.shape and (got - want).abs().max() <= 1e-5


def test_inference_takes_the_streamed_path_and_training_the_fast_one(monkeypatch):
    import core.attention.module as module_file

    calls = []
    monkeypatch.setattr(module_file, "sparse_attention_streamed",
                        lambda *a, **kw: calls.append("streamed") or module_file.combine_rounds(
                            module_file.sparse_attention_fast(*a, **kw)))
    module = NonLocalSparseAttention(16, n_hashes=2, chunk_size=16)
    inp = torch.randn(1, 16, 9, 9)
    with torch.no_grad():
        module(inp)
    assert calls == ["streamed"]
    module(inp.requires_grad_(True)).sum().backward()
    assert calls == ["streamed"]  # a gradient: the fast path, with its own backward


def test_hashing_in_blocks_of_positions_gives_the_same_codes(monkeypatch):
    import core.attention.hashing as hashing

    torch.manual_seed(0)
    x = torch.randn(2, 300, 8)
    rotations = torch.randn(1, 8, 3, 4)
    whole = hash_codes(x, rotations, 8)
    monkeypatch.setattr(hashing, "HASH_BLOCK", 7)
    assert torch.equal(hash_codes(x, rotations, 8), whole)


@pytest.mark.parametrize("impl", ["blocked", "fast"])
def test_attention_can_be_interrupted_between_blocks(impl):
    from core.base.errors import Cancelled
    from core.base.interrupt import interruptible

    module = NonLocalSparseAttention(16, n_hashes=2, chunk_size=16)
    module.impl = impl
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise Cancelled()

    import core.attention.fast as fast
    import core.attention.grouped as grouped

    old = grouped.BLOCK_SCORES, fast.FAST_BLOCK_SCORES
    grouped.BLOCK_SCORES = fast.FAST_BLOCK_SCORES = 1  # one chunk per block
    try:
        with interruptible(check), pytest.raises(Cancelled):
            module(torch.randn(1, 16, 24, 24))
    finally:
        grouped.BLOCK_SCORES, fast.FAST_BLOCK_SCORES = old
    assert len(calls) == 3
    module(torch.randn(1, 16, 24, 24))  # outside the block nothing is checked
    assert len(calls) == 3


def test_hash_codes_break_ties_like_argmax_over_the_concatenation():
    """Codes are argmax([x R, -x R]) with first-index ties, computed without the concatenation."""
    gen = torch.Generator().manual_seed(0)
    rotations = torch.randn(1, 4, 2, 3, generator=gen)
    x = torch.randn(2, 50, 4, generator=gen)
    x[0, :5] = 0  # all-zero projections: every bucket ties, the first wins
    x[1, :5] = torch.round(x[1, :5])  # more exact ties between + and - halves
    rotations = torch.round(rotations)
    rotated = torch.einsum("btf,bfhi->bhti", x, rotations.expand(2, -1, -1, -1))
    expected = torch.argmax(torch.cat([rotated, -rotated], dim=-1), dim=-1)
    expected = expected + torch.arange(2).view(1, -1, 1) * 6
    assert torch.equal(hash_codes(x, rotations, 6), expected)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("block_scores", [5000, None])
def test_fast_path_on_cuda_matches_reference(block_scores):
    """The fast path on the GPU (fp32): forward and backward within 1e-4 of the reference path."""
    torch.manual_seed(0)
    module = NonLocalSparseAttention(64, n_hashes=4, chunk_size=144).cuda()
    inp = torch.randn(2, 64, 40, 37, device="cuda")
    ref_out, ref_grads = _attend_and_backprop(module, inp, "reference", n_hashes=4)
    out, grads = _attend_and_backprop(module, inp, "fast", n_hashes=4, block_scores=block_scores)
    for a, b in zip(ref_out + ref_grads, out + grads):
        assert (a - b).abs().max() <= 1e-4


def test_unknown_attention_path_is_refused():
    module = NonLocalSparseAttention(16, n_hashes=2, chunk_size=16)
    module.impl = "fastest"
    with pytest.raises(ValueError, match="unknown attention path 'fastest'"):
        module(torch.randn(1, 16, 6, 6))


def test_under_bf16_autocast_buckets_are_projected_in_fp32_and_gradients_flow():
    """Mixed-precision training: hashing sees fp32 embeddings; the rest runs in bf16 and stays
    close to the fp32 module, with fp32 parameter gradients."""
    torch.manual_seed(0)
    module = NonLocalSparseAttention(32, n_hashes=2, chunk_size=16)
    inp = torch.randn(2, 32, 12, 11)
    seen = []
    hash_in_fp32 = module.hash

    def spy(x, generator=None, **kwargs):
        seen.append((x.dtype, torch.is_autocast_enabled("cpu")))
        return hash_in_fp32(x, generator, **kwargs)

    module.hash = spy
    expected = module(inp, generator=torch.Generator().manual_seed(3))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(inp, generator=torch.Generator().manual_seed(3))
    assert seen == [(torch.float32, False), (torch.float32, False)]
    assert out.dtype == torch.float32  # the residual keeps the input's precision
    assert (out - expected).abs().max() < 0.02 and (out - expected).abs().mean() < 0.002
    out.square().mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all(), name


def test_window_attention_in_bf16_keeps_lse_in_fp32_and_gradients_close():
    """Under bf16 the fast path's lse is fp32 (it weights the rounds and is subtracted again in
    the backward); outputs and gradients stay within bf16 rounding of an fp32 computation on
    the same inputs."""
    from core.attention.fast import _WindowAttention

    gen = torch.Generator().manual_seed(0)
    t, k = 40, 16
    q = (torch.randn(t, k, 8, generator=gen) * 3).bfloat16()  # scores up to ~15: lse > 8
    key = torch.nn.functional.normalize(torch.randn(t, k, 8, generator=gen), dim=-1).bfloat16()
    v = torch.randn(t, k, 32, generator=gen).bfloat16()
    grad_out, grad_lse = torch.randn(t, k, 32, generator=gen).bfloat16(), torch.randn(t, k, generator=gen)

    def run(dtype):
        inputs = [x.to(dtype, copy=True).requires_grad_() for x in (q, key, v)]
        out, lse = _WindowAttention.apply(*inputs, None)
        torch.autograd.backward([out, lse], [grad_out.to(dtype), grad_lse])
        return [x.detach().float()[1:-1] for x in (out, lse, *(i.grad for i in inputs))], out.dtype, lse.dtype

    ref, _, _ = run(torch.float32)
    got, out_dtype, lse_dtype = run(torch.bfloat16)
    assert out_dtype == torch.bfloat16 and lse_dtype == torch.float32
    errors = [((a - b).norm() / b.norm()).item() for a, b in zip(got, ref)]
    assert errors[1] < 1e-3, errors  # lse
    assert max(errors[0], *errors[2:]) < 0.02, errors  # out, dq, dk, dv


def test_a_low_precision_module_returns_its_own_dtype():
    """The fp32 lse must not promote the output: a half/bf16 model (CUDA inference runs fp16)
    feeds it to its next convolution, which wants the weights' dtype."""
    torch.manual_seed(0)
    module = NonLocalSparseAttention(16, n_hashes=2, chunk_size=16).bfloat16()
    out = module(torch.randn(1, 16, 9, 10).bfloat16(), generator=torch.Generator().manual_seed(3))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
