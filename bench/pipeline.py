"""Where an epoch's time goes on this machine: data pipeline alone, model alone, a full fastai epoch.

    python bench/pipeline.py --data ../shared/data/cifar10.tgz [--arch advnet_hr] [--out bench/results/pipeline.json]

Measures, with the package's own code paths:
- `load_s`: loading the decoded, cached arrays (after a first `cifar-adv data` or fit has built the cache);
- `albumentations_img_s`: the seeds' Albumentations recipe alone, one uint8 image at a time, no DataLoader;
- `pipeline_img_s`: the training DataLoader alone, up to normalised batches: `get_dls`'s lean `ArrayDL` (with the
  Albumentations ItemTransform, and without augmentation, for 0, 1 and 2 worker processes), and fastai's per-item
  `TfmdDL` path over the same dataset and transforms (`per_item_*`);
- `model_img_s`: forward + backward + SGD step of the model alone on random batches, NCHW vs channels_last, and
  channels_last under `torch.compile` (inductor; compilation itself is not counted);
- `subset_epoch_img_s_by_workers`: (train + valid images) / time of a one-epoch fit on 10k + 2k images, by worker count;
- `epoch_s`: one full `fit_one_cycle` epoch on the 50k training images plus validation on the 10k test images;
- `recipe_epoch_s` and `recipe_epoch_vs_model`: the same with the recipe's own augmentation (`RECIPE.aug`), and its
  ratio to the time of the model's own training steps over the 50k images on ready-made tensors (channels_last, AdamW
  like the recipe's Adam): what the data pipeline, validation and fastai's loop add to the model.

The other augmented figures use the seeds' full recipe (`--aug seed`, the costliest preset).
Prints one JSON object and writes it to --out.
"""
import json, time, tempfile, os, platform
from pathlib import Path
from _args import bench_parser, add_common

from cifar_adv.core import RECIPE, Recipe, Machine
ap = bench_parser(__doc__, data=None, arch=RECIPE.arch, bs=RECIPE.bs)
ap.add_argument('--batches', type=int, default=40, help='batches timed per DataLoader setting')
ap.add_argument('--no-epoch', action='store_true', help='skip the full-epoch measurement')
a = add_common(ap, out='bench/results/pipeline.json').parse_args()

import torch                                          # after the arguments: `--help` and a bad option answer at once
from fastai.data.core import TfmdDL
from _timing import median_s, TrainStep
from cifar_adv.augment import make_aug
from cifar_adv.data import load_arrays
from cifar_adv.dls import get_dls
from cifar_adv.models import create_model
from cifar_adv.train import fit_run

res = dict(machine=dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), python=platform.python_version(),
                        torch=torch.__version__), arch=a.arch, bs=a.bs)
load_arrays(a.data)                                   # build the cache if needed
t = time.perf_counter(); arrs = load_arrays(a.data); res['load_s'] = round(time.perf_counter() - t, 2)

def time_loader(dl, n):
    it = iter(dl); next(it)                           # first batch: worker start-up
    t, k = time.perf_counter(), 0
    for i, (x, y) in enumerate(it):
        k += len(x)
        if i + 1 >= n: break
    return round(k / (time.perf_counter() - t))

recipe = make_aug('seed', mean=arrs.mean, seed=0)
imgs = arrs.train_x[:a.batches * a.bs // 2]
t = time.perf_counter()
for im in imgs: recipe(image=im)
res['albumentations_img_s'] = round(len(imgs) / (time.perf_counter() - t))
print('albumentations alone', res['albumentations_img_s'], flush=True)

res['pipeline_img_s'] = {}
for aug in ('seed', 'none'):
    for nw in (0, 1, 2):
        dls = get_dls(arrs, bs=a.bs, aug=aug, num_workers=nw, device='cpu')
        res['pipeline_img_s'][f'{aug}_workers{nw}'] = time_loader(dls.train, a.batches)
        print(aug, nw, res['pipeline_img_s'][f'{aug}_workers{nw}'], flush=True)
    dls = get_dls(arrs, bs=a.bs, aug=aug, num_workers=0, device='cpu')
    per_item = TfmdDL.new(dls.train, cls=TfmdDL)          # fastai's own per-item path, same dataset and transforms
    res['pipeline_img_s'][f'per_item_{aug}_workers0'] = time_loader(per_item, a.batches // 2)
    print('per item', aug, res['pipeline_img_s'][f'per_item_{aug}_workers0'], flush=True)

res['model_img_s'] = {}
for name in ('nchw', 'channels_last', 'channels_last_compiled', 'channels_last_adamw'):
    step = TrainStep(create_model(a.arch), a.bs, channels_last=name != 'nchw', compile=name.endswith('compiled'),
                     opt='adamw' if name.endswith('adamw') else 'sgd')
    res['model_img_s'][name] = round(a.bs / median_s(step, n=10, warmup=2))
    print('model', res['model_img_s'], flush=True)

if not a.no_epoch:
    # whole (short) epochs by worker count: the data-only numbers above ignore that workers take cores from the model
    res['subset_epoch_img_s_by_workers'] = {}
    for nw in (0, 1, 2):
        m = fit_run(Path(tempfile.mkdtemp())/'run', Recipe(arch=a.arch, epochs=1, bs=a.bs, n_train=10000, n_valid=2000, aug='seed'),
                    Machine(num_workers=nw), data=a.data, show_progress=False)
        res['subset_epoch_img_s_by_workers'][f'workers{nw}'] = round(12000 / m['fit_time_s'])
        print('epoch by workers', nw, res['subset_epoch_img_s_by_workers'], flush=True)

    m = fit_run(Path(tempfile.mkdtemp())/'run', Recipe(arch=a.arch, epochs=1, bs=a.bs, aug='seed'), data=a.data, show_progress=False)
    res['epoch_s'] = m['fit_time_s']
    res['epoch_train_img_s'] = round(m['n_train'] / m['fit_time_s'])
    res['epoch_accuracy_1ep'] = m['accuracy']

    m = fit_run(Path(tempfile.mkdtemp())/'run', Recipe(arch=a.arch, epochs=1, bs=a.bs), data=a.data, show_progress=False)
    res['recipe_aug'], res['recipe_epoch_s'] = RECIPE.aug, m['fit_time_s']
    res['recipe_model_alone_s'] = round(m['n_train'] / res['model_img_s']['channels_last_adamw'], 1)
    res['recipe_epoch_vs_model'] = round(m['fit_time_s'] / res['recipe_model_alone_s'], 2)
    print('recipe epoch', res['recipe_epoch_s'], 'model alone', res['recipe_model_alone_s'], flush=True)

out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
tmp = out.with_suffix('.tmp'); tmp.write_text(json.dumps(res, indent=2) + '\n'); tmp.replace(out)
print(json.dumps(res, indent=2))
