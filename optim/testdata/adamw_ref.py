# Reference for the Go AdamW test: runs torch.optim.AdamW on the parameters and gradients given as JSON on
# stdin and prints the final parameters, moments and steps as JSON. Exit status 3 means torch is missing.
#
# Input: {"beta1", "beta2", "eps", "updates": N,
#         "groups": [{"name", "frozen", "weight_decay", "schedule": {"peak", "warmup", "total", "episode"},
#                     "reset_after": [updates], "params": [{"name", "shape", "data"}]}],
#         "grads": {param name: [[values of update 1], [update 2], ...]}}
# The schedule is fairseq's polynomial_decay (power 1, end 0) evaluated at the update number, compressed into
# episodes of "episode" updates when "episode" > 0 (index (u * (total // episode)) % total).
import json
import sys

try:
    import torch
except ImportError:
    sys.exit(3)


def linear(s, u):
    peak, warmup, total = s["peak"], s["warmup"], s["total"]
    if u < 0:
        return 0.0
    if warmup > 0 and u <= warmup:
        return peak * u / warmup
    if u >= total:
        return 0.0
    return peak * (total - u) / (total - warmup)


def lr_at(s, u):
    if s.get("episode", 0) > 0:
        speed = max(s["total"] // s["episode"], 1)
        return linear(s, (u * speed) % s["total"])
    return linear(s, u)


def no_decay(name):
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


cfg = json.load(sys.stdin)
tensors = {}
torch_groups = []
for g in cfg["groups"]:
    for p in g["params"]:
        tensors[p["name"]] = torch.tensor(p["data"], dtype=torch.float32).reshape(p["shape"])
    if g["frozen"]:
        continue
    for decay in (True, False):
        ps = [tensors[p["name"]] for p in g["params"] if no_decay(p["name"]) != decay]
        if ps:
            for t in ps:
                t.requires_grad_(True)
            torch_groups.append({"params": ps, "weight_decay": g["weight_decay"] if decay else 0.0, "lethe": g})

opt = torch.optim.AdamW(torch_groups, lr=0.0, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"], foreach=False)
names = {id(t): n for n, t in tensors.items()}
for u in range(1, cfg["updates"] + 1):
    for tg in opt.param_groups:
        tg["lr"] = lr_at(tg["lethe"]["schedule"], u)
        for t in tg["params"]:
            t.grad = torch.tensor(cfg["grads"][names[id(t)]][u - 1], dtype=torch.float32).reshape(t.shape)
    opt.step()
    for tg in opt.param_groups:
        if u in (tg["lethe"].get("reset_after") or []):
            for t in tg["params"]:
                st = opt.state[t]
                st["exp_avg"].zero_()
                st["exp_avg_sq"].zero_()
                if torch.is_tensor(st["step"]):
                    st["step"].zero_()
                else:
                    st["step"] = 0

out = {"params": {}, "exp_avg": {}, "exp_avg_sq": {}, "steps": {}}
for n, t in tensors.items():
    out["params"][n] = t.detach().reshape(-1).tolist()
for tg in opt.param_groups:
    for t in tg["params"]:
        st = opt.state[t]
        out["exp_avg"][names[id(t)]] = st["exp_avg"].reshape(-1).tolist()
        out["exp_avg_sq"][names[id(t)]] = st["exp_avg_sq"].reshape(-1).tolist()
        out["steps"][tg["lethe"]["name"]] = int(st["step"])
json.dump(out, sys.stdout)
