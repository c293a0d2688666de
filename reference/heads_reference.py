#!/usr/bin/python3
"""Pure-PyTorch reference of Hugging Face's RoBERTa task heads (forward + backward).

Lethe's Go heads (package head) are checked against this script by
head/reference_test.go. It rebuilds, with torch.nn.Linear, torch.tanh and
torch.nn.functional.cross_entropy only (no `transformers`), what
transformers computes in float64:

  classification  RobertaClassificationHead + RobertaForSequenceClassification's
                  single-label loss:
                    x = hidden[:, 0, :]; x = dropout(x); x = tanh(dense(x));
                    x = dropout(x); logits = out_proj(x);
                    loss = cross_entropy(logits, labels)
                  Dropout is applied as multiplication by the masks given in the
                  input (already scaled by 1/(1-p)), so that the same elements
                  are dropped as in the Go head.
  qa              RobertaForQuestionAnswering's qa_outputs and loss:
                    start, end = qa_outputs(hidden).split(1, -1);
                    positions clamped to [0, T]; CrossEntropyLoss(ignore_index=T);
                    loss = (loss(start) + loss(end)) / 2

Usage:
  /usr/bin/python3 heads_reference.py IN.json

IN.json: {"kind": "classification" | "qa", "B", "T", "C", "hidden": [B*T*C],
"params": {name: {"shape": [...], "data": [...]}}, and for classification
"labels": [B], "mask_input": [B*C], "mask_dense": [B*C]; for qa "starts": [B],
"ends": [B]}. Prints one JSON object: "loss", "logits" (classification, [B*L])
or "start_logits" and "end_logits" ([B*T] each), "grads" {name: [...]} and
"hidden_grad" [B*T*C].
"""

import json
import sys

import torch
import torch.nn.functional as F


def linear(params, prefix, dtype):
    w = params[prefix + ".weight"]
    out_dim, in_dim = w["shape"]
    layer = torch.nn.Linear(in_dim, out_dim, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w["data"], dtype=dtype).view(out_dim, in_dim))
        layer.bias.copy_(torch.tensor(params[prefix + ".bias"]["data"], dtype=dtype))
    return layer


def main():
    with open(sys.argv[1]) as f:
        d = json.load(f)
    dtype = torch.float64
    B, T, C = d["B"], d["T"], d["C"]
    hidden = torch.tensor(d["hidden"], dtype=dtype).view(B, T, C).requires_grad_(True)
    out = {}
    if d["kind"] == "classification":
        dense = linear(d["params"], "classifier.dense", dtype)
        out_proj = linear(d["params"], "classifier.out_proj", dtype)
        m1 = torch.tensor(d["mask_input"], dtype=dtype).view(B, C)
        m2 = torch.tensor(d["mask_dense"], dtype=dtype).view(B, C)
        x = hidden[:, 0, :] * m1
        x = torch.tanh(dense(x)) * m2
        logits = out_proj(x)
        loss = F.cross_entropy(logits, torch.tensor(d["labels"], dtype=torch.long))
        loss.backward()
        out["logits"] = logits.detach().reshape(-1).tolist()
        layers = {"classifier.dense": dense, "classifier.out_proj": out_proj}
    elif d["kind"] == "qa":
        qa = linear(d["params"], "qa_outputs", dtype)
        logits = qa(hidden)
        start, end = logits.split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        ignored = start.size(1)
        sp = torch.tensor(d["starts"], dtype=torch.long).clamp(0, ignored)
        ep = torch.tensor(d["ends"], dtype=torch.long).clamp(0, ignored)
        loss_fct = torch.nn.CrossEntropyLoss(ignore_index=ignored)
        loss = (loss_fct(start, sp) + loss_fct(end, ep)) / 2
        loss.backward()
        out["start_logits"] = start.detach().reshape(-1).tolist()
        out["end_logits"] = end.detach().reshape(-1).tolist()
        layers = {"qa_outputs": qa}
    else:
        raise SystemExit("heads_reference.py: unknown kind %r: expected classification or qa" % d["kind"])
    out["loss"] = loss.item()
    out["grads"] = {}
    for prefix, layer in layers.items():
        out["grads"][prefix + ".weight"] = layer.weight.grad.reshape(-1).tolist()
        out["grads"][prefix + ".bias"] = layer.bias.grad.reshape(-1).tolist()
    out["hidden_grad"] = hidden.grad.reshape(-1).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
