"""Screening for issue 38: the fast recipe's methods on a Net within the seeds' constraints, chosen on held-out data.

    python bench/screen_fast.py --epochs 12 --widths 40 80 88 [--holdout 5000] [--data ../shared/data/cifar10.tgz]

A plain PyTorch loop, written for screening before the methods become fastai options (issue 38): it trains `AirNet`,
a Net that meets the seeds' rules (no max-pooling: a strided depthwise 3x3 downsamples; a depthwise-separable dilated
convolution; global average pooling; receptive field above 44; under 200k parameters, checked by the arch checks of
`cifar_adv.summary`), with the recipe of the field's fastest CIFAR-10 trainers (airbench): Nesterov SGD at batch 1024
with a triangular schedule, decoupled weight decay, BatchNorm scales frozen at 1 and biases at 64x the learning rate,
dirac-initialised convolutions, a frozen 2x2 stem initialised by PCA whitening of training patches, lookahead toward a
slow average, label smoothing 0.2, 2-pixel reflect translations and flips alternating by epoch as whole-batch tensor
operations, and logits scaled by 1/9.

Settings are compared on `--holdout` training images kept out of training (the last of a seeded permutation of the
50,000), never on the test set; `--test` also scores the final weights on the official 10,000 test images, for the
run chosen. Each epoch's held-out accuracy, the final one with flip TTA, the time per epoch and the settings go to
`--out` (JSON).
"""
import json, math, os, platform, time
from _paths import DATA
from _args import bench_parser

ap = bench_parser(__doc__, data=DATA, out='bench/results/screen_fast.json')
ap.add_argument('--epochs', type=float, default=12, help='epochs (default 12)')
ap.add_argument('--widths', type=int, nargs=3, default=[40, 80, 88], help='channels of the three stages (default: 40 80 88)')
ap.add_argument('--last', default='sep', choices=['sep', 'dense+sep'], help="the last stage: its second convolution depthwise-separable and dilated (sep), or dense followed by such a layer (dense+sep)")
ap.add_argument('--down', default='dw', choices=['dw', 'act+dw'], help="each stage's downsampling: a strided depthwise 3x3 straight after the first convolution (dw), or after that convolution's BatchNorm and GELU (act+dw), so that a nonlinearity precedes the downsampling as it does max-pooling's")
ap.add_argument('--bs', type=int, default=1024, help='batch size (default 1024)')
ap.add_argument('--lr', type=float, default=11.5, help='learning rate per 1024 images, decoupled from momentum (default 11.5)')
ap.add_argument('--momentum', type=float, default=0.85, help='Nesterov momentum (default 0.85)')
ap.add_argument('--wd', type=float, default=0.0153, help='weight decay per 1024 images, decoupled from the lr (default 0.0153)')
ap.add_argument('--bias_scaler', type=float, default=64.0, help="BatchNorm biases' lr multiplier (default 64)")
ap.add_argument('--ls', type=float, default=0.2, help='label smoothing (default 0.2)')
ap.add_argument('--lookahead', type=int, default=1, help='1: lookahead toward a slow average from epoch 3; 0: off')
ap.add_argument('--whiten', type=int, default=1, help='1: the frozen whitening stem; 0: a trained 2x2 stem')
ap.add_argument('--holdout', type=int, default=5000, help='training images kept out to choose settings on (default 5000, the split of `fit --valid holdout`; 0: train on all 50,000, for a final run with --test)')
ap.add_argument('--test', action='store_true', help='also score the final weights on the official test set')
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's own choice)")
a = ap.parse_args()

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from cifar_adv.core import atomic_write_text
from cifar_adv.data import load_arrays
from cifar_adv.dls import holdout_idxs
from cifar_adv.rf import receptive_field
from cifar_adv.summary import arch_checks

if a.threads: torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

# ---- the Net ----
class BN(nn.BatchNorm2d):
    "BatchNorm with its scale frozen at 1 (only the bias trains), fast-moving running statistics."
    def __init__(self, c):
        super().__init__(c, eps=1e-12, momentum=0.4)
        self.weight.requires_grad = False

def conv(cin, cout, k=3, stride=1, dilation=1, groups=1):
    "A bias-free convolution, 'same' padded, initialised as a partial identity (dirac) on its first channels."
    c = nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k - 1) // 2, dilation=dilation, groups=groups, bias=False)
    w = c.weight.data
    if groups == 1: nn.init.dirac_(w[:min(cin, cout)])
    return c

def sep_dilated(c):
    "A depthwise-separable, dilated convolution: depthwise 3x3 at dilation 2, then pointwise."
    return [conv(c, c, 3, dilation=2, groups=c), conv(c, c, 1)]

class Stage(nn.Sequential):
    "A dense 3x3 convolution, a strided depthwise 3x3 (the downsampling: no max-pooling; `down='act+dw'` puts a BatchNorm and GELU before it), then a second convolution: dense, or depthwise-separable and dilated (`sep`); `extra` adds a depthwise-separable dilated one after."
    def __init__(self, cin, cout, sep=False, extra=False, down='dw'):
        second = sep_dilated(cout) if sep else [conv(cout, cout)]
        more = [*sep_dilated(cout), BN(cout), nn.GELU()] if extra else []
        act = [BN(cout), nn.GELU()] if down == 'act+dw' else []
        super().__init__(conv(cin, cout), *act, conv(cout, cout, 3, stride=2, groups=cout), BN(cout), nn.GELU(),
                         *second, BN(cout), nn.GELU(), *more)

class AirNet(nn.Sequential):
    "Whitening stem (2x2, frozen), three stages at 1/2, 1/4 and 1/8 resolution, global average pooling, a linear head scaled by 1/9. `last`: the last stage's second convolution is depthwise-separable and dilated (`sep`), or dense with such a layer after it (`dense+sep`); `down`: see `Stage`."
    def __init__(self, widths=(40, 80, 88), n_out=10, last='sep', down='dw'):
        w1, w2, w3 = widths
        stem = nn.Conv2d(3, 24, 2, padding=0, bias=True)
        super().__init__(stem, nn.GELU(), Stage(24, w1, down=down), Stage(w1, w2, down=down),
                         Stage(w2, w3, sep=last == 'sep', extra=last == 'dense+sep', down=down),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w3, n_out, bias=False))
    def forward(self, x): return super().forward(x) / 9

def whiten_init(stem:nn.Conv2d, x:torch.Tensor, eps=5e-4):
    "The stem's filters: the eigenvectors of the covariance of 2x2 training patches, scaled to unit variance, and their negatives."
    c, (h, w) = x.shape[1], stem.weight.shape[2:]
    p = x.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c * h * w).double()
    vals, vecs = torch.linalg.eigh(p.T @ p / len(p))
    vals, vecs = vals.flip(0), vecs.T.flip(0).reshape(-1, c, h, w)
    v = (vecs / torch.sqrt(vals + eps).view(-1, 1, 1, 1)).float()
    stem.weight.data[:] = torch.cat([v, -v])
    stem.weight.requires_grad = False

# ---- the data: uint8 arrays, normalised once; augmentation as whole-batch tensor operations ----
arrs = load_arrays(a.data)
n = len(arrs.train_y)                                                     # the product's held-out split (`fit --valid holdout`), fixed whatever --seed
tr, ho = holdout_idxs(n, a.holdout / n) if a.holdout else (np.arange(n), np.arange(0))
mean, std = torch.tensor(arrs.mean).view(1, 3, 1, 1), torch.tensor(arrs.std).view(1, 3, 1, 1)
def prep(x): return ((torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255) - mean) / std
xtr, ytr = prep(arrs.train_x[tr]), torch.from_numpy(arrs.train_y[tr]).long()
xho, yho = prep(arrs.train_x[ho]), torch.from_numpy(arrs.train_y[ho]).long()
xtr_pad = F.pad(xtr, (2, 2, 2, 2), mode='reflect')
flip0 = torch.rand(len(xtr)) < 0.5                                        # each image's flip on even epochs; odd epochs the other

def epoch_batches(epoch:int, g:torch.Generator):
    "One epoch of (images, labels): a random 2-pixel translation of the reflect-padded images, the flip alternating by epoch, shuffled."
    n = len(xtr)
    sy, sx = torch.randint(0, 5, (n,), generator=g), torch.randint(0, 5, (n,), generator=g)
    out = torch.empty_like(xtr)
    for dy in range(5):
        for dx in range(5):
            m = (sy == dy) & (sx == dx)
            out[m] = xtr_pad[m, :, dy:dy + 32, dx:dx + 32]
    f = flip0 ^ bool(epoch % 2)
    out[f] = out[f].flip(-1)
    idx = torch.randperm(n, generator=g)
    for i in range(n // a.bs):                                             # drop the last partial batch
        j = idx[i * a.bs:(i + 1) * a.bs]
        yield out[j].contiguous(memory_format=torch.channels_last), ytr[j]

@torch.no_grad()
def accuracy(model, x, y, tta=False):
    model.eval()
    logits = torch.cat([model(b.contiguous(memory_format=torch.channels_last)) for b in x.split(1000)])
    if tta: logits = logits + torch.cat([model(b.flip(-1).contiguous(memory_format=torch.channels_last)) for b in x.split(1000)])
    return float((logits.argmax(1) == y).float().mean())

# ---- the run ----
model = AirNet(a.widths, last=a.last, down=a.down).to(memory_format=torch.channels_last)
params = sum(p.numel() for p in model.parameters())
rf = receptive_field(AirNet(a.widths, last=a.last, down=a.down))
checks = arch_checks(AirNet(a.widths, last=a.last, down=a.down), rf, params)
if a.whiten: whiten_init(model[0], xtr[:5000])
kilostep = 1024 * (1 + 1 / (1 - a.momentum))
lr, wd = a.lr / kilostep, a.wd * a.bs / kilostep
biases = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim == 1 and n != '0.bias']
others = [p for n, p in model.named_parameters() if p.requires_grad and not (p.ndim == 1 and n != '0.bias')]
opt = torch.optim.SGD([dict(params=biases, lr=lr * a.bias_scaler, weight_decay=wd / (lr * a.bias_scaler)),
                       dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=a.momentum, nesterov=True)
steps_per_epoch = len(xtr) // a.bs
total = math.ceil(steps_per_epoch * a.epochs)
def triangle(i, start=0.2, peak=0.23, end=0.07):
    "The learning-rate factor at step i: linear from `start` up to 1 at `peak` of the run, then linear down to `end`."
    p = i / total
    return start + (1 - start) * p / peak if p < peak else 1 + (end - 1) * (p - peak) / (1 - peak)
sched = torch.optim.lr_scheduler.LambdaLR(opt, triangle)
loss_fn = nn.CrossEntropyLoss(label_smoothing=a.ls, reduction='sum')
slow, step, rows = None, 0, []
g = torch.Generator().manual_seed(a.seed)
t_start = time.perf_counter()
for epoch in range(math.ceil(a.epochs)):
    model[0].bias.requires_grad = epoch < 3                               # the stem's bias trains for 3 epochs
    model.train()
    t0 = time.perf_counter()
    for xb, yb in epoch_batches(epoch, g):
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step(); sched.step(); step += 1
        if a.lookahead and epoch >= 3 and step % 5 == 0:
            if slow is None: slow = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                rho = 0.95 ** 5 * (step / total) ** 3
                for (k, s), v in zip(slow.items(), model.state_dict().values()):
                    if v.dtype.is_floating_point: s.lerp_(v, 1 - rho); v.copy_(s)
        if step >= total: break
    if slow is not None:
        for s, v in zip(slow.values(), model.state_dict().values()):
            if v.dtype.is_floating_point: v.copy_(s)
    train_s = time.perf_counter() - t0
    acc = accuracy(model, xho, yho) if len(yho) else None                 # --holdout 0: a final run on all 50,000
    rows.append(dict(epoch=epoch, holdout_accuracy=acc and round(acc, 4), train_loss=round(float(loss.detach()) / len(yb), 4), epoch_s=round(train_s, 1)))
    print(json.dumps(rows[-1]), flush=True)
res = dict(args=vars(a), params=params, rf=rf, checks=checks, n_train=len(xtr), n_holdout=len(xho),
           holdout_accuracy=rows[-1]['holdout_accuracy'], holdout_accuracy_tta=round(accuracy(model, xho, yho, tta=True), 4) if len(yho) else None,
           wall_s=round(time.perf_counter() - t_start, 1), epochs=rows, threads=torch.get_num_threads(),
           cpu_count=os.cpu_count(), machine=platform.machine())
if a.test:
    xte, yte = prep(arrs.valid_x), torch.from_numpy(arrs.valid_y).long()
    res.update(test_accuracy=round(accuracy(model, xte, yte), 4), test_accuracy_tta=round(accuracy(model, xte, yte, tta=True), 4))
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps({k: v for k, v in res.items() if k != 'epochs'}))
