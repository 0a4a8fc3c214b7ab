"""A faithful transcription of the released NLSN computation: the oracle and the baseline.

Structure, module names, RNG use and tensor operations follow the authors' release (global RNG
``torch.randn`` per NLSA call on the input's device and dtype, einsum over chunks with
concatenated neighbours, fp32 score tensors, crash when L < chunk size). The only change is
``stable_sort`` (default True), which the spec asks for; False keeps the release's unstable sort.

Used by the parity tests (our model after ``generator.manual_seed(s)`` must equal this after
``torch.manual_seed(s)``) and as the baseline of the speed/memory benchmarks. Never used by the
application.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _batched_index_select(values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    last_dim = values.shape[-1]
    return values.gather(1, indices[:, :, None].expand(-1, -1, last_dim))


class ReleasedNLSA(nn.Module):
    def __init__(self, n_hashes=4, channels=64, reduction=4, chunk_size=144, res_scale=1.0, stable_sort=True):
        super().__init__()
        self.chunk_size = chunk_size
        self.n_hashes = n_hashes
        self.reduction = reduction
        self.res_scale = res_scale
        self.stable_sort = stable_sort
        self.conv_match = nn.Sequential(nn.Conv2d(channels, channels // reduction, 3, padding=1))
        self.conv_assembly = nn.Sequential(nn.Conv2d(channels, channels, 1))

    def lsh(self, hash_buckets, x):
        n = x.shape[0]
        rotations_shape = (1, x.shape[-1], self.n_hashes, hash_buckets // 2)
        random_rotations = torch.randn(rotations_shape, dtype=x.dtype, device=x.device).expand(n, -1, -1, -1)
        rotated_vecs = torch.einsum("btf,bfhi->bhti", x, random_rotations)
        rotated_vecs = torch.cat([rotated_vecs, -rotated_vecs], dim=-1)
        hash_codes = torch.argmax(rotated_vecs, dim=-1)
        offsets = torch.arange(self.n_hashes, device=x.device)
        offsets = torch.reshape(offsets * hash_buckets, (1, -1, 1))
        return torch.reshape(hash_codes + offsets, (n, -1))

    @staticmethod
    def add_adjacent_buckets(x):
        x_extra_back = torch.cat([x[:, :, -1:, ...], x[:, :, :-1, ...]], dim=2)
        x_extra_forward = torch.cat([x[:, :, 1:, ...], x[:, :, :1, ...]], dim=2)
        return torch.cat([x, x_extra_back, x_extra_forward], dim=3)

    def forward(self, input):
        n, _, h, w = input.shape
        x_embed = self.conv_match(input).view(n, -1, h * w).contiguous().permute(0, 2, 1)
        y_embed = self.conv_assembly(input).view(n, -1, h * w).contiguous().permute(0, 2, 1)
        length, c = x_embed.shape[-2:]
        hash_buckets = min(length // self.chunk_size + (length // self.chunk_size) % 2, 128)
        hash_codes = self.lsh(hash_buckets, x_embed).detach()
        _, indices = hash_codes.sort(dim=-1, stable=self.stable_sort)
        _, undo_sort = indices.sort(dim=-1)
        mod_indices = indices % length
        x_embed_sorted = _batched_index_select(x_embed, mod_indices)
        y_embed_sorted = _batched_index_select(y_embed, mod_indices)

        padding = self.chunk_size - length % self.chunk_size if length % self.chunk_size != 0 else 0
        x_att_buckets = torch.reshape(x_embed_sorted, (n, self.n_hashes, -1, c))
        y_att_buckets = torch.reshape(y_embed_sorted, (n, self.n_hashes, -1, c * self.reduction))
        if padding:
            pad_x = x_att_buckets[:, :, -padding:, :].clone()
            pad_y = y_att_buckets[:, :, -padding:, :].clone()
            x_att_buckets = torch.cat([x_att_buckets, pad_x], dim=2)
            y_att_buckets = torch.cat([y_att_buckets, pad_y], dim=2)
        x_att_buckets = torch.reshape(x_att_buckets, (n, self.n_hashes, -1, self.chunk_size, c))
        y_att_buckets = torch.reshape(y_att_buckets, (n, self.n_hashes, -1, self.chunk_size, c * self.reduction))

        x_match = F.normalize(x_att_buckets, p=2, dim=-1, eps=5e-5)
        x_match = self.add_adjacent_buckets(x_match)
        y_att_buckets = self.add_adjacent_buckets(y_att_buckets)

        raw_score = torch.einsum("bhkie,bhkje->bhkij", x_att_buckets, x_match)
        bucket_score = torch.logsumexp(raw_score, dim=-1, keepdim=True)
        score = torch.exp(raw_score - bucket_score)
        bucket_score = torch.reshape(bucket_score, [n, self.n_hashes, -1])

        ret = torch.einsum("bukij,bukje->bukie", score, y_att_buckets)
        ret = torch.reshape(ret, (n, self.n_hashes, -1, c * self.reduction))
        if padding:
            ret = ret[:, :, :-padding, :].clone()
            bucket_score = bucket_score[:, :, :-padding].clone()
        ret = torch.reshape(ret, (n, -1, c * self.reduction))
        bucket_score = torch.reshape(bucket_score, (n, -1))
        ret = _batched_index_select(ret, undo_sort)
        bucket_score = bucket_score.gather(1, undo_sort)

        ret = torch.reshape(ret, (n, self.n_hashes, length, c * self.reduction))
        bucket_score = torch.reshape(bucket_score, (n, self.n_hashes, length, 1))
        probs = F.softmax(bucket_score, dim=1)
        ret = torch.sum(ret * probs, dim=1)
        return ret.permute(0, 2, 1).view(n, -1, h, w).contiguous() * self.res_scale + input


class _MeanShift(nn.Conv2d):
    def __init__(self, rgb_range, rgb_mean=(0.4488, 0.4371, 0.4040), sign=-1):
        super().__init__(3, 3, kernel_size=1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * rgb_range * torch.tensor(rgb_mean)
        for p in self.parameters():
            p.requires_grad = False


class _ResBlock(nn.Module):
    def __init__(self, n_feats, res_scale):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(n_feats, n_feats, 3, padding=1), nn.ReLU(True), nn.Conv2d(n_feats, n_feats, 3, padding=1)
        )
        self.res_scale = res_scale

    def forward(self, x):
        res = self.body(x).mul(self.res_scale)
        res += x
        return res


class ReleasedNLSN(nn.Module):
    """The released NLSN (rgb_range 1) with the same state-dict keys as the authors' files."""

    def __init__(self, n_resblocks=32, n_feats=256, scale=2, res_scale=0.1, chunk_size=144, n_hashes=4,
                 stable_sort=True):
        super().__init__()

        def nlsa():
            return ReleasedNLSA(channels=n_feats, chunk_size=chunk_size, n_hashes=n_hashes, reduction=4,
                                res_scale=res_scale, stable_sort=stable_sort)

        self.sub_mean = _MeanShift(1)
        self.head = nn.Sequential(nn.Conv2d(3, n_feats, 3, padding=1))
        body = [nlsa()]
        for i in range(n_resblocks):
            body.append(_ResBlock(n_feats, res_scale))
            if (i + 1) % 8 == 0:
                body.append(nlsa())
        body.append(nn.Conv2d(n_feats, n_feats, 3, padding=1))
        self.body = nn.Sequential(*body)
        if scale == 3:
            up = [nn.Conv2d(n_feats, 9 * n_feats, 3, padding=1), nn.PixelShuffle(3)]
        else:
            up = []
            for _ in range({2: 1, 4: 2}[scale]):
                up += [nn.Conv2d(n_feats, 4 * n_feats, 3, padding=1), nn.PixelShuffle(2)]
        self.tail = nn.Sequential(nn.Sequential(*up), nn.Conv2d(n_feats, 3, 3, padding=1))
        self.add_mean = _MeanShift(1, sign=1)

    def forward(self, x):
        x = self.sub_mean(x)
        x = self.head(x)
        res = self.body(x)
        res += x
        x = self.tail(res)
        return self.add_mean(x)
