#!/usr/bin/python3
"""How close relearnt English embeddings come to a body's own, as the body sees them.

    scripts/input-alignment.py BODY TEST RELEARNT [RELEARNT ...]

BODY is a pretrained checkpoint directory, each RELEARNT an adaptation
checkpoint of English on that body with the same tokenizer (BODY's
sentencepiece.model); TEST a task file (TSV, the text in its last column).
For every token of the test texts, both embedding rows go through what the
body does first (add a position embedding and the type embedding, then the
embedding LayerNorm), at every position 1..128; the script prints the cosine
and the distance relative to the original, averaged over positions and
weighted by the token's count in the test texts, then the cosine of each band
of tokens by their frequency rank in the test texts (0-50, 50-200, 200-600,
the rest), unweighted. Identical embeddings give cosine 1 and distance 0. Needs Debian's python3-torch and python3-sentencepiece.
"""
import json, struct, sys

import sentencepiece
import torch

KEY = 'roberta.embeddings.'
BANDS = [(0, 50), (50, 200), (200, 600), (600, 1 << 30)]  # frequency ranks, most frequent first


def tensor(checkpoint, name):
    """One float32 tensor of a checkpoint's model.safetensors, as float64."""
    with open(checkpoint + '/model.safetensors', 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    t = json.loads(raw[8:8 + n])[name]
    if t['dtype'] != 'F32':
        sys.exit(f'input-alignment: {checkpoint}: {name} is {t["dtype"]}, expected F32')
    lo, hi = t['data_offsets']
    return torch.frombuffer(bytearray(raw[8 + n + lo:8 + n + hi]), dtype=torch.float32).reshape(t['shape']).double()


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.strip().split('\n\n')[1])
    body, test, runs = argv[1], argv[2], argv[3:]
    emb = tensor(body, KEY + 'word_embeddings.weight')
    pos = tensor(body, KEY + 'position_embeddings.weight')[2:130]  # positions start after the padding index
    typ = tensor(body, KEY + 'token_type_embeddings.weight')[0]
    gamma, beta = tensor(body, KEY + 'LayerNorm.weight'), tensor(body, KEY + 'LayerNorm.bias')
    sp = sentencepiece.SentencePieceProcessor(model_file=body + '/sentencepiece.model')
    counts = torch.zeros(emb.shape[0], dtype=torch.float64)
    with open(test, encoding='utf-8') as f:
        for line in f:
            for i in sp.encode(line.rstrip('\n').split('\t')[-1]):
                counts[i] += 1
    ids = torch.nonzero(counts).flatten()
    weight = counts[ids] / counts[ids].sum()
    rank = torch.argsort(-counts[ids], stable=True)  # positions in ids, the most frequent token first

    def seen(words):
        x = words[ids][:, None, :] + pos[None] + typ
        x = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
        return x * gamma + beta

    own = seen(emb)
    print(f'{len(ids)} distinct tokens, {int(counts.sum())} in all, from {test}')
    for run in runs:
        other = seen(tensor(run, KEY + 'word_embeddings.weight'))
        if other.shape != own.shape:
            sys.exit(f'input-alignment: {run}: embeddings {tuple(other.shape)}, expected {tuple(own.shape)}')
        cos = torch.nn.functional.cosine_similarity(other, own, dim=-1).mean(1)
        dist = ((other - own).norm(dim=-1) / own.norm(dim=-1)).mean(1)
        print(f'{run}: cosine {(cos * weight).sum():.3f}, relative distance {(dist * weight).sum():.3f}')
        bands = []
        for lo, hi in BANDS:
            b = rank[lo:hi]
            if len(b):
                bands.append(f'{lo}-{lo + len(b)} {cos[b].mean():.2f}')
        print('  cosine by frequency rank in the test texts (unweighted): ' + ', '.join(bands))


if __name__ == '__main__':
    main(sys.argv)
