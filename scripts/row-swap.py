#!/usr/bin/python3
"""Put a body's own token-embedding rows back into relearnt English embeddings.

    scripts/row-swap.py RELEARNT BODY OUT --ids LO-HI
    scripts/row-swap.py RELEARNT BODY OUT --ranks LO-HI --test TEST
    ... [--invert]

RELEARNT is an adaptation checkpoint of English on BODY with BODY's tokenizer.
OUT becomes a copy of RELEARNT whose token-embedding rows LO..HI (--ids,
inclusive) or whose test-frequency ranks LO..HI-1 (--ranks: the tokens of
TEST's texts, the last TSV column, ordered by their count there, 0 the most
frequent) are BODY's own. With --invert, OUT holds BODY's embeddings with
those rows from RELEARNT. Splice OUT into a task model fine-tuned from BODY
and score English to see how much of the transfer gap those rows hold. Prints
the rows' share of the test tokens. Needs Debian's python3-sentencepiece for
--ranks.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy

NAME = 'roberta.embeddings.word_embeddings.weight'


def embeddings(checkpoint):
    """The raw model.safetensors of a checkpoint, and the byte range and shape of its token embeddings."""
    with open(checkpoint + '/model.safetensors', 'rb') as f:
        raw = bytearray(f.read())
    n = struct.unpack('<Q', raw[:8])[0]
    t = json.loads(raw[8:8 + n])[NAME]
    if t['dtype'] != 'F32':
        sys.exit(f'row-swap: {checkpoint}: {NAME} is {t["dtype"]}, expected F32')
    lo, hi = t['data_offsets']
    return raw, 8 + n + lo, 8 + n + hi, t['shape']


def span(text, flag):
    try:
        lo, hi = (int(v) for v in text.split('-'))
    except ValueError:
        sys.exit(f'row-swap: {flag} {text!r}: expected LO-HI, two whole numbers')
    if lo < 0 or hi < lo:
        sys.exit(f'row-swap: {flag} {text}: expected 0 <= LO <= HI')
    return lo, hi


def main():
    ap = argparse.ArgumentParser(usage=__doc__.strip().split('\n\n')[1])
    ap.add_argument('relearnt')
    ap.add_argument('body')
    ap.add_argument('out')
    ap.add_argument('--ids')
    ap.add_argument('--ranks')
    ap.add_argument('--test')
    ap.add_argument('--invert', action='store_true')
    a = ap.parse_args()
    raw, s, e, shape = embeddings(a.relearnt)
    own_raw, os_, oe, own_shape = embeddings(a.body)
    if own_shape != shape:
        sys.exit(f'row-swap: {a.relearnt}: embeddings {shape}, but {a.body} has {own_shape}')
    relearnt = numpy.frombuffer(bytes(raw[s:e]), dtype=numpy.float32).reshape(shape).copy()
    own = numpy.frombuffer(bytes(own_raw[os_:oe]), dtype=numpy.float32).reshape(shape).copy()

    counts = None
    if a.test:
        import sentencepiece
        sp = sentencepiece.SentencePieceProcessor(model_file=a.body + '/sentencepiece.model')
        counts = numpy.zeros(shape[0])
        with open(a.test, encoding='utf-8') as f:
            for line in f:
                for i in sp.encode(line.rstrip('\n').split('\t')[-1]):
                    counts[i] += 1
    if (a.ids is None) == (a.ranks is None):
        sys.exit('row-swap: give exactly one of --ids and --ranks')
    if a.ids is not None:
        lo, hi = span(a.ids, '--ids')
        rows = list(range(lo, min(hi + 1, shape[0])))
    else:
        if counts is None:
            sys.exit('row-swap: --ranks needs --test, the texts whose token counts rank the rows')
        lo, hi = span(a.ranks, '--ranks')
        ranked = [i for i in numpy.argsort(-counts, kind='stable') if counts[i] > 0]
        rows = ranked[lo:hi]

    if a.invert:
        own[rows] = relearnt[rows]
        result = own
    else:
        relearnt[rows] = own[rows]
        result = relearnt
    tmp = a.out.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(a.relearnt, tmp)
    raw[s:e] = result.astype(numpy.float32).tobytes()
    with open(tmp + '/model.safetensors', 'wb') as f:
        f.write(raw)
    shutil.rmtree(a.out, ignore_errors=True)
    os.rename(tmp, a.out)
    share = f', {counts[rows].sum() / counts.sum():.1%} of the test tokens' if counts is not None else ''
    print(f'row-swap: {len(rows)} rows{share} -> {a.out}')


if __name__ == '__main__':
    main()
