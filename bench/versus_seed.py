"""Per-epoch speed, side by side in one process: cifar-adv's fastai pipeline vs a plain PyTorch loop in the seeds' style.

    python bench/versus_seed.py [--data ../shared/data/cifar10.tgz] [--arch advnet] [--n_train 10000] [--n_valid 2000] [--rounds 3]
    python bench/versus_seed.py --arch seed003     # the seeds' own 152k net in both loops

The seeds' loop, as their write-ups describe it: a torch `Dataset` (torchvision's CIFAR10 subclassed) whose
`__getitem__` applies the Albumentations pipeline (the same recipe as ours, plus `A.Normalize` and `ToTensorV2`)
to one uint8 image at a time, a `DataLoader(shuffle=True)`, SGD with momentum + `OneCycleLR` stepped per batch, the
model in the default memory format, then a pass over the test images. No fastai. It runs with 0 and 2 `DataLoader`
workers (the seeds' notebooks used workers on Colab); the faster counts.

cifar-adv's side is what `cifar-adv fit` runs: `get_dls` (decoded arrays, the Albumentations `ItemTransform`) and
`get_learner` (`channels_last`), one `fit_one_cycle` epoch, training and validation. Same arch, same batch size,
same images, same number of threads. `model_only` times the same number of training steps and validation batches on
ready-made channels_last tensors: no loop over this model can beat it, so `speedup_ceiling` is the most any data
pipeline could give. Each of the four loops runs `--rounds` times (default 3), round-robin, so that a slow spell on this
shared machine hits them all alike; each figure is the run with the median epoch time, and `epoch_s_by_round` keeps
every run's. Writes bench/results/versus_seed.json.
"""
import json, os, platform, time
from _paths import DATA
from _args import bench_parser, add_common

ap = bench_parser(__doc__, data=DATA, arch='advnet', bs=256)
ap.add_argument('--n_train', type=int, default=10000)
ap.add_argument('--n_valid', type=int, default=2000)
add_common(ap, rounds=3)
ap.add_argument('--out', default=None, help='default: bench/results/versus_seed.json for advnet, versus_seed-ARCH.json for another arch')
a = ap.parse_args()
a.out = a.out or 'bench/results/versus_seed' + ('' if a.arch == 'advnet' else f'-{a.arch}') + '.json'

import torch, albumentations as A
from albumentations.pytorch import ToTensorV2
from torch import nn
from cifar_adv.core import atomic_write_text
from cifar_adv.augment import seed_aug
from cifar_adv.data import load_arrays
from cifar_adv.dls import get_dls, subset_idxs
from cifar_adv.models import create_model
from cifar_adv.learner import get_learner
from _timing import TrainStep

arrs = load_arrays(a.data)
ti, vi = subset_idxs(arrs.train_y, a.n_train, 0), subset_idxs(arrs.valid_y, a.n_valid, 0)

class SeedCifar(torch.utils.data.Dataset):
    "The seeds' Dataset: uint8 images in memory, Albumentations applied per item, Normalize + ToTensorV2 at the end."
    def __init__(self, x, y, tfm): self.x, self.y, self.tfm = x, y, tfm
    def __len__(self): return len(self.x)
    def __getitem__(self, i): return self.tfm(image=self.x[i])['image'], int(self.y[i])

def seed_epoch(workers:int) -> dict:
    torch.manual_seed(0)
    norm = [A.Normalize(mean=arrs.mean, std=arrs.std), ToTensorV2()]
    train_tfm = A.Compose(list(seed_aug(arrs.mean).transforms) + norm)
    dl = torch.utils.data.DataLoader(SeedCifar(arrs.train_x[ti], arrs.train_y[ti], train_tfm), batch_size=a.bs,
                                     shuffle=True, num_workers=workers)
    vdl = torch.utils.data.DataLoader(SeedCifar(arrs.valid_x[vi], arrs.valid_y[vi], A.Compose(norm)), batch_size=a.bs,
                                      num_workers=workers)
    model = create_model(a.arch, n_out=len(arrs.classes))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, epochs=1, steps_per_epoch=len(dl))
    crit = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    model.train()
    for x, y in dl:
        opt.zero_grad(); loss = crit(model(x), y); loss.backward(); opt.step(); sched.step()
    t1 = time.perf_counter()
    model.eval(); correct = 0
    with torch.no_grad():
        for x, y in vdl: correct += (model(x).argmax(1) == y).sum().item()
    t2 = time.perf_counter()
    return dict(workers=workers, train_s=round(t1 - t0, 1), valid_s=round(t2 - t1, 1), epoch_s=round(t2 - t0, 1),
                train_img_s=round(len(ti) / (t1 - t0)), accuracy=correct / len(vi))

def ours_epoch() -> dict:
    dls = get_dls(arrs, bs=a.bs, aug='seed', n_train=a.n_train, n_valid=a.n_valid, seed=0)     # the seed loop's recipe
    learn = get_learner(dls, a.arch)
    learn.remove_cb(learn.progress)
    t0 = time.perf_counter()
    learn.fit_one_cycle(1, 5e-3)
    t = time.perf_counter() - t0
    return dict(workers=dls.train.fake_l.num_workers, epoch_s=round(t, 1), accuracy=float(learn.recorder.values[-1][2]))

def model_only() -> dict:
    "The floor for any loop over this model: training steps and validation on ready-made channels_last batches, no data pipeline."
    torch.manual_seed(0)
    step = TrainStep(create_model(a.arch, n_out=len(arrs.classes)), a.bs, n_out=len(arrs.classes))
    t0 = time.perf_counter()
    for _ in range(len(ti) // a.bs): step()
    t1 = time.perf_counter()
    step.model.eval()
    with torch.no_grad():
        for _ in range(-(-len(vi) // a.bs)): step.model(step.x)
    t2 = time.perf_counter()
    return dict(train_s=round(t1 - t0, 1), valid_s=round(t2 - t1, 1), epoch_s=round(t2 - t0, 1))

res = dict(arch=a.arch, bs=a.bs, n_train=len(ti), n_valid=len(vi), threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
           torch=torch.__version__, albumentations=A.__version__, python=platform.python_version())
loops = {'seed_workers0': lambda: seed_epoch(0), 'seed_workers2': lambda: seed_epoch(2), 'cifar_adv': ours_epoch, 'model_only': model_only}
runs = {k: [] for k in loops}
for _ in range(a.rounds):                        # round-robin: a slow spell on the machine hits every loop alike
    for k, f in loops.items(): runs[k].append(f()); print(k, runs[k][-1], flush=True)
med = lambda rs: sorted(rs, key=lambda r: r['epoch_s'])[len(rs) // 2]
res['rounds'] = a.rounds
res['epoch_s_by_round'] = {k: [r['epoch_s'] for r in v] for k, v in runs.items()}
res['seed_loop'] = [med(runs['seed_workers0']), med(runs['seed_workers2'])]
res['cifar_adv'] = med(runs['cifar_adv'])
best_seed = min(r['epoch_s'] for r in res['seed_loop'])
res['speedup'] = round(best_seed / res['cifar_adv']['epoch_s'], 2)
res['model_only'] = med(runs['model_only'])
res['speedup_ceiling'] = round(best_seed / res['model_only']['epoch_s'], 2)   # what a loop with a free data pipeline would get
scale = 50000 / len(ti)
res['note'] = (f"epoch_s covers {len(ti)} training + {len(vi)} test images; a full epoch (50,000 + 10,000) takes about "
               f"{scale:.0f}x as long for both")
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
