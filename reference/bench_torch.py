"""PyTorch side of `lethe bench`: train a RoBERTa-style masked LM the way a PyTorch user would write it.

The model matches Lethe's `small` preset in shape and work: token + learned position + token-type embeddings,
LayerNorm, dropout; nn.TransformerEncoder (post-LN, exact GELU, dropout); the LM head (dense, GELU, LayerNorm,
decoder tied to the token embeddings, bias) applied only at the masked positions; mean cross-entropy; AdamW.
Batches are random ids with 15% of positions masked, as in Lethe's benchmark.

It prints one JSON object: tokens/s over the timed updates, seconds per update and peak resident memory.
Threads are set by the caller: --threads calls torch.set_num_threads; OpenBLAS (which Debian's torch uses for
GEMM) only obeys the OPENBLAS_NUM_THREADS environment variable, which the caller sets before starting Python.
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RobertaMLM(nn.Module):
    def __init__(self, vocab, hidden, layers, heads, ffn, max_pos, dropout, pad_id=1):
        super().__init__()
        self.pad_id = pad_id
        self.word = nn.Embedding(vocab, hidden, padding_idx=pad_id)
        self.pos = nn.Embedding(max_pos, hidden, padding_idx=pad_id)
        self.token_type = nn.Embedding(1, hidden)
        self.emb_ln = nn.LayerNorm(hidden, eps=1e-5)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout, activation="gelu",
                                           layer_norm_eps=1e-5, batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head_dense = nn.Linear(hidden, hidden)
        self.head_ln = nn.LayerNorm(hidden, eps=1e-5)
        self.head_bias = nn.Parameter(torch.zeros(vocab))
        for emb in (self.word, self.pos, self.token_type):  # RoBERTa's N(0, 0.02), padding rows zero
            nn.init.normal_(emb.weight, std=0.02)
            if emb.padding_idx is not None:
                with torch.no_grad():
                    emb.weight[emb.padding_idx].zero_()

    def forward(self, ids, labels):
        pad = ids.eq(self.pad_id)
        positions = torch.cumsum((~pad).int(), dim=1) * (~pad).int() + self.pad_id
        x = self.word(ids) + self.pos(positions.long()) + self.token_type.weight[0]
        x = self.drop(self.emb_ln(x))
        x = self.encoder(x, src_key_padding_mask=pad)
        masked = labels.ne(-100)
        h = x[masked]
        h = self.head_ln(F.gelu(self.head_dense(h)))
        logits = h @ self.word.weight.t() + self.head_bias
        return F.cross_entropy(logits, labels[masked])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = RobertaMLM(args.vocab, args.hidden, args.layers, args.heads, args.ffn, args.seq + 2, args.dropout)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)

    gen = torch.Generator().manual_seed(args.seed)
    batches = []
    for _ in range(4):
        ids = torch.randint(5, args.vocab, (args.batch, args.seq), generator=gen)
        ids[:, 0] = 0
        ids[:, -1] = 2
        chosen = torch.rand(args.batch, args.seq, generator=gen) < 0.15
        chosen[:, 0] = False
        chosen[:, -1] = False
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        inputs = torch.where(chosen, torch.full_like(ids, 4), ids)
        batches.append((inputs, labels))

    def step(i):
        inputs, labels = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss = model(inputs, labels)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        loss = step(i)
    elapsed = time.perf_counter() - start
    tokens = args.steps * args.batch * args.seq
    print(json.dumps({
        "tokens_per_s": tokens / elapsed,
        "seconds_per_update": elapsed / args.steps,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "loss": loss,
        "threads": args.threads,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
