#!/usr/bin/python3
"""Pure-PyTorch reference of Hugging Face RobertaForMaskedLM (forward + backward).

Lethe's Go model (package roberta) is checked against this script by
roberta/reference_test.go. It recomputes, from the architecture and with
torch.nn.functional ops only (no `transformers`), exactly what
transformers.RobertaForMaskedLM computes in float32 with dropout off:

  position ids    = cumsum(ids != pad) * (ids != pad) + pad
  embeddings      = LayerNorm((word[ids] + type[0]) + pos[position ids])
  each layer      = post-LN self-attention (padding keys get finfo(float32).min)
                    and post-LN GELU feed-forward
  lm_head         = dense -> exact GELU -> LayerNorm -> tied decoder + lm_head.bias
  loss            = mean cross-entropy over positions whose label != -100

Usage:
  /usr/bin/python3 roberta_reference.py CONFIG.json IN.safetensors OUT.safetensors

IN holds every parameter under its Hugging Face name (float32; the decoder is
tied to roberta.embeddings.word_embeddings.weight and not stored) plus
`input_ids` and `labels` ([B, T], int32 or int64). OUT receives
`logits` [M, V] (the labelled positions, in row-major (b, t) order), `loss`
[1] (float32) and `grad.<name>` for every parameter of IN.

Encoder mode: if IN holds `hidden_grad` [B, T, C] (float32) instead of
`labels`, the loss is sum(hidden * hidden_grad) over the encoder's last hidden
states (the backward a task head would start), and OUT holds `hidden`
[B, T, C] instead of `logits`.

safetensors is parsed by hand (json + struct) because the python3-safetensors
package is not installed on the machines that run the tests.
"""

import json
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "I32": (torch.int32, 4),
    "I64": (torch.int64, 8),
}
NAMES = {v[0]: k for k, v in DTYPES.items()}


def read_safetensors(path):
    """Returns {name: tensor} for a safetensors file (a copy, writable)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[info["dtype"]]
        lo, hi = info["data_offsets"]
        count = (hi - lo) // size
        if count == 0:
            t = torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(blob[base + lo:base + hi]), dtype=dtype, count=count)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    """Writes {name: tensor} as a safetensors file (little-endian, contiguous)."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def roberta_encoder(cfg, P, ids):
    """RobertaModel forward in eval mode (no dropout, no pooler). Returns the
    last hidden states [B, T, C]."""
    B, T = ids.shape
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    D = C // H
    eps = cfg["layer_norm_eps"]
    pad = cfg["pad_token_id"]

    # RobertaEmbeddings (create_position_ids_from_input_ids, token type 0).
    mask = ids.ne(pad).int()
    pos = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + pad
    x = F.embedding(ids, P["roberta.embeddings.word_embeddings.weight"], padding_idx=pad)
    x = x + F.embedding(torch.zeros_like(ids), P["roberta.embeddings.token_type_embeddings.weight"])
    x = x + F.embedding(pos, P["roberta.embeddings.position_embeddings.weight"], padding_idx=pad)
    x = F.layer_norm(x, (C,), P["roberta.embeddings.LayerNorm.weight"], P["roberta.embeddings.LayerNorm.bias"], eps)

    # get_extended_attention_mask: (1 - mask) * finfo(float32).min on keys.
    ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min

    def lin(t, name):
        return F.linear(t, P[name + ".weight"], P[name + ".bias"])

    def heads(t):  # [B, T, C] -> [B, H, T, D]
        return t.view(B, T, H, D).permute(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        pre = "roberta.encoder.layer.%d." % i
        q = heads(lin(x, pre + "attention.self.query"))
        k = heads(lin(x, pre + "attention.self.key"))
        v = heads(lin(x, pre + "attention.self.value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (D ** 0.5)
        scores = scores + ext
        probs = F.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, T, C)
        a = lin(ctx, pre + "attention.output.dense")
        x = F.layer_norm(a + x, (C,), P[pre + "attention.output.LayerNorm.weight"],
                         P[pre + "attention.output.LayerNorm.bias"], eps)
        h = F.gelu(lin(x, pre + "intermediate.dense"))
        o = lin(h, pre + "output.dense")
        x = F.layer_norm(o + x, (C,), P[pre + "output.LayerNorm.weight"], P[pre + "output.LayerNorm.bias"], eps)
    return x


def roberta_mlm(cfg, P, ids, labels):
    """RobertaForMaskedLM forward in eval mode (no dropout). Returns (logits of
    labelled positions [M, V], mean loss)."""
    C = cfg["hidden_size"]
    eps = cfg["layer_norm_eps"]
    x = roberta_encoder(cfg, P, ids)

    # RobertaLMHead over every position, as Hugging Face does.
    y = F.gelu(F.linear(x, P["lm_head.dense.weight"], P["lm_head.dense.bias"]))
    y = F.layer_norm(y, (C,), P["lm_head.layer_norm.weight"], P["lm_head.layer_norm.bias"], eps)
    logits = F.linear(y, P["roberta.embeddings.word_embeddings.weight"]) + P["lm_head.bias"]
    V = logits.shape[-1]
    flat_labels = labels.reshape(-1).long()
    loss = F.cross_entropy(logits.reshape(-1, V), flat_labels, ignore_index=-100)
    picked = logits.reshape(-1, V)[flat_labels.ne(-100)]
    return picked, loss


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with open(argv[1]) as f:
        cfg = json.load(f)
    tensors = read_safetensors(argv[2])
    ids = tensors.pop("input_ids").long()
    labels = tensors.pop("labels").long() if "labels" in tensors else None
    hidden_grad = tensors.pop("hidden_grad") if "hidden_grad" in tensors else None
    params = {}
    for name, t in tensors.items():
        params[name] = t.to(torch.float32).requires_grad_(True)
    if hidden_grad is None:
        logits, loss = roberta_mlm(cfg, params, ids, labels)
        out = {"logits": logits.detach()}
    else:
        # Encoder only: loss = sum(hidden * hidden_grad), so that the
        # gradient of the hidden states is hidden_grad (a task head's view).
        hidden = roberta_encoder(cfg, params, ids)
        loss = (hidden * hidden_grad.reshape(hidden.shape)).sum()
        out = {"hidden": hidden.detach()}
    loss.backward()
    out["loss"] = loss.detach().reshape(1)
    for name, p in params.items():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        out["grad." + name] = g
    write_safetensors(argv[3], out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
