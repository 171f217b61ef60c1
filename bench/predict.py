"""Inference speed: batch prediction of the 10k CIFAR-10 test images, and the time from process start to one answer.

    python bench/predict.py [--data ../shared/data/cifar10.tgz] [--model results/advnet-15ep/model.safetensors]

Writes bench/results/predict.json. Each figure is the best of `--repeat` runs (the machine is shared; the best is the
least disturbed). The ONNX model is exported from the same weights into a temporary folder.
"""
import json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, add_common, run_cli
import numpy as np

ap = bench_parser(__doc__, data=DATA)
ap.add_argument('--model', default='results/advnet-15ep/model.safetensors')
a = add_common(ap, repeat=3, out='bench/results/predict.json').parse_args()

import torch
from cifar_adv.core import atomic_write_text
from cifar_adv.inference import Predictor, labelled_files, predict_files
from cifar_adv.export import export_onnx
from cifar_adv.data import decode_files

def best(f, n=a.repeat):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
    return min(ts), r

root, classes, files, ys = labelled_files(a.data)
paths = [str(root/f) for f in files]
x = decode_files(root, files)
res = dict(model=a.model, n_images=len(files), threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
           machine=platform.machine(), python=platform.python_version(), torch=torch.__version__, results=[])
tmp = tempfile.mkdtemp()
preds = {'torch': Predictor.load(a.model)}
preds['onnx'] = Predictor.load(export_onnx(preds['torch'], Path(tmp)/'model.onnx')['path'])
t_dec, _ = best(lambda: decode_files(root, files, n_workers=1), 1)
res['decode_png_img_s'] = round(len(files) / t_dec)
for fmt, p in preds.items():
    y = np.array([p.classes.index(classes[i]) for i in ys])
    for bs in (64, 256, 1024):
        t, probs = best(lambda: p.predict_proba(x, bs=bs))
        acc = float((probs.argmax(1) == y).mean())
        res['results'].append(dict(format=fmt, what='decoded arrays', bs=bs, img_s=round(len(x) / t), accuracy=acc))
    t, _ = best(lambda: p.predict_proba(x, bs=256, tta=True))
    res['results'].append(dict(format=fmt, what='decoded arrays, flip TTA', bs=256, img_s=round(len(x) / t)))
    t, rows = best(lambda: predict_files(p, paths, bs=256), 1)
    res['results'].append(dict(format=fmt, what='PNG files (predict_files: read, convert, predict)', bs=256,
                               img_s=round(len(paths) / t)))
# one image, from process start to the printed answer
for fmt, m in (('torch', a.model), ('onnx', str(Path(tmp)/'model.onnx'))):
    t, r = best(lambda: run_cli([CLI, 'predict', m, paths[0]]))
    res['results'].append(dict(format=fmt, what='one image: `cifar-adv predict` process start to answer', seconds=round(t, 2)))
t, _ = best(lambda: subprocess.run([sys.executable, '-c', 'import torch'], check=True))
res['results'].append(dict(format='', what='for comparison: `python -c "import torch"` alone', seconds=round(t, 2)))
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(json.dumps(res, indent=2))
