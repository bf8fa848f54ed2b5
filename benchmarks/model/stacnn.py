"""PyTorch reference of the Swift STA-CNN (Sources/Model/STACNN.swift).

Same architecture, parameter names and layouts, and the same handling of padded batches:

  x (B, T, C) + lengths
  -> [layer sum: columns offset + l*D + d (l < L) -> sum_l softmax(w)_l x_l, others passed through]
  -> LFE: [Conv1d(k, padding=k//2) on zero-masked input, masked output -> ReLU
           -> MaxPool1d(2, 2) over valid frames, lengths -> max(1, len // 2)] per conv
  -> Dropout
  -> CFE: bidirectional LSTM on a packed sequence (reverse direction starts at each clip's end)
  -> GFE: nn.MultiheadAttention with key_padding_mask, outputs summed over valid positions
          (or, with useGFE false, the mean over valid positions)
  -> Dropout -> Linear -> logits

Its state_dict is exactly what the Swift model saves, so
`model.load_state_dict(safetensors.torch.load_file(path), strict=True)` loads a Swift model file.
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


DEFAULT_CONFIG = {
    "inputChannels": 181, "numClasses": 7, "convChannels": [256, 256, 256], "kernelSize": 3,
    "poolSize": 2, "lstmHidden": 128, "heads": 4, "dropout": 0.3, "useCFE": True, "useGFE": True,
}


def valid_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) bool, True at valid positions."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


class LayerWeightedSum(nn.Module):
    """Learned softmax-weighted sum of L stacked hidden states of width D, found at columns
    offset .. offset + L*D of the input; the columns before and after pass through."""

    def __init__(self, offset: int, layers: int, width: int):
        super().__init__()
        self.offset, self.layers, self.width = offset, layers, width
        self.weight = nn.Parameter(torch.zeros(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C - (L-1)*D)."""
        o, L, D = self.offset, self.layers, self.width
        group = x[..., o:o + L * D].unflatten(-1, (L, D))           # (B, T, L, D)
        a = torch.softmax(self.weight, dim=0)
        summed = (group * a[:, None]).sum(dim=-2)                  # (B, T, D)
        return torch.cat([x[..., :o], summed, x[..., o + L * D:]], dim=-1)


class STACNN(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        cfg = dict(DEFAULT_CONFIG, **config)
        self.cfg = cfg
        assert cfg["poolSize"] == 2
        k = cfg["kernelSize"]
        cin = cfg["inputChannels"]
        self.layer_sum = None
        if cfg.get("layerSum"):
            s = cfg["layerSum"]
            self.layer_sum = LayerWeightedSum(s["offset"], s["layers"], s["width"])
            cin -= (s["layers"] - 1) * s["width"]
        self.lfe = nn.ModuleList()
        for c in cfg["convChannels"]:
            self.lfe.append(nn.Conv1d(cin, c, k, padding=k // 2))
            cin = c
        self.lfe_dropout = nn.Dropout(cfg["dropout"])
        self.cfe = None
        if cfg["useCFE"]:
            self.cfe = nn.LSTM(cin, cfg["lstmHidden"], batch_first=True, bidirectional=True)
            cin = 2 * cfg["lstmHidden"]
        self.gfe = None
        if cfg["useGFE"]:
            self.gfe = nn.MultiheadAttention(cin, cfg["heads"], batch_first=True)
        self.head_dropout = nn.Dropout(cfg["dropout"])
        self.classifier = nn.Linear(cin, cfg["numClasses"])

    @staticmethod
    def from_json(text: str) -> "STACNN":
        return STACNN(json.loads(text))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) float, lengths (B) int64 -> logits (B, classes)."""
        lengths = lengths.to(torch.int64)
        if self.layer_sum is not None:
            x = self.layer_sum(x)
        h = x.transpose(1, 2)                                  # (B, C, T)
        for conv in self.lfe:
            T = h.shape[2]
            m = valid_mask(lengths, T)[:, None, :]             # (B, 1, T)
            h = F.relu(conv(h * m) * m)
            # Max-pool over valid frames only; T' = max(1, T // 2).
            h = h.masked_fill(~m, float("-inf"))
            if T < 2:
                h = F.pad(h, (0, 2 - T), value=float("-inf"))
            h = F.max_pool1d(h, 2, 2)
            lengths = torch.clamp(lengths // 2, min=1)
            h = h.masked_fill(~valid_mask(lengths, h.shape[2])[:, None, :], 0.0)
        h = h.transpose(1, 2)                                  # (B, T', C)
        h = self.lfe_dropout(h)
        T = h.shape[1]
        pad = ~valid_mask(lengths, T)                          # (B, T') True at padding
        if self.cfe is not None:
            packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.cfe(packed)
            h, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        if self.gfe is not None:
            a, _ = self.gfe(h, h, h, key_padding_mask=pad if bool(pad.any()) else None, need_weights=False)
            g = a.masked_fill(pad[..., None], 0.0).sum(dim=1)  # eq. 6: sum over positions
        else:
            g = h.masked_fill(pad[..., None], 0.0).sum(dim=1) / lengths[:, None].to(h.dtype)
        return self.classifier(self.head_dropout(g))


def make_optimizer(model: nn.Module, lr: float = 1e-4) -> torch.optim.Optimizer:
    """The paper's Adam (lr 1e-4) with coupled L2 1e-3, as the Swift `Adam`; the layer logits of
    the layer sum are a group of their own (lr x layerSum.learningRateScale, no L2)."""
    if getattr(model, "layer_sum", None) is None:
        return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3)
    scale = model.cfg["layerSum"].get("learningRateScale", 100.0)
    rest = [p for n, p in model.named_parameters() if n != "layer_sum.weight"]
    return torch.optim.Adam([{"params": rest},
                             {"params": [model.layer_sum.weight], "lr": lr * scale, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3)
