"""The delay network: embeddings for carrier, origin, dest, and an MLP over everything."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DelayNet", "LogisticBaseline"]


class DelayNet(nn.Module):
    """MLP over standardised numerics (+ missing flags) and categorical embeddings; returns logits."""

    def __init__(
        self, numeric_width: int, vocab_sizes: list[int], *, embed_dim: int = 8, hidden: int = 64
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, embed_dim) for n in vocab_sizes)
        width = numeric_width + embed_dim * len(vocab_sizes)
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden // 2),
            nn.ReLU(),
            nn.Linear(hidden // 2, 1),
        )

    def forward(self, numeric: torch.Tensor, cats: torch.Tensor) -> torch.Tensor:
        """Logits of P(arr_delay > 15) for a batch."""
        parts = [numeric] + [emb(cats[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1)).squeeze(1)


class LogisticBaseline(nn.Module):
    """Logistic regression on the same inputs: one weight per numeric, one per category (one-hot)."""

    def __init__(self, numeric_width: int, vocab_sizes: list[int]) -> None:
        super().__init__()
        self.linear = nn.Linear(numeric_width, 1)
        self.category_weights = nn.ModuleList(nn.Embedding(n, 1) for n in vocab_sizes)

    def forward(self, numeric: torch.Tensor, cats: torch.Tensor) -> torch.Tensor:
        """Logits for a batch."""
        out = self.linear(numeric).squeeze(1)
        for i, w in enumerate(self.category_weights):
            out = out + w(cats[:, i]).squeeze(1)
        return out
