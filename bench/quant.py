"""int8 against float32 ONNX: accuracy on the 10k test images, throughput, file size and one-image start-up, side by side.

    python bench/quant.py [--data ../shared/data/cifar10.tgz] [--runs advnet_hr-60ep advnet_s-60ep] [--n_calib 512]

For each committed run, `cifar-adv export --format onnx` and `--format onnx-int8` (calibrated on `--n_calib` training
images, seed 0) write both files into a temporary folder. Both are then timed in this process, round-robin
`--repeat` times at each batch size (the best run is kept, so that a busy spell on the machine hits both alike), and
`cifar-adv predict` is timed from process start to answer for one image. Writes bench/results/quant.json, with the
CPU's int8 instruction sets, the operators ONNX Runtime runs in float in the int8 model, and the load average at
the start (other work sharing the cores slows both models alike but inflates the one-image times).
"""
import collections, json, os, platform, tempfile, time
from pathlib import Path
from _paths import DATA, CLI
from _args import bench_parser, run_cli
import numpy as np

ap = bench_parser(__doc__, data=DATA, repeat=5, out='bench/results/quant.json')
ap.add_argument('--runs', nargs='+', default=['advnet_hr-60ep', 'advnet_s-60ep'], help='committed runs in results/')
ap.add_argument('--n_calib', type=int, default=512, help='calibration images for the int8 model')
a = ap.parse_args()

import onnx, onnxruntime as ort
from cifar_adv.core import atomic_write_text
from cifar_adv.inference import Predictor, labelled_files
from cifar_adv.data import decode_files

def cpu_flags() -> dict:
    "The int8-relevant instruction sets this CPU reports (Linux's /proc/cpuinfo)."
    try: flags = next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split(':')[1].split()
    except (OSError, StopIteration): flags = []
    model = next((l.split(':')[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    return dict(model=model, **{f: f in flags for f in ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8')})

def run_ops(path) -> dict:
    "Operator counts of the graph ONNX Runtime runs (after its optimisations), split into int8 and float operators."
    with tempfile.TemporaryDirectory() as d:
        so = ort.SessionOptions(); so.optimized_model_filepath = str(Path(d)/'opt.onnx')
        so.log_severity_level = 3                        # the note that the optimised file is specific to this machine
        ort.InferenceSession(str(path), so, providers=['CPUExecutionProvider'])
        ops = collections.Counter(n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node)
    int8 = {k: v for k, v in ops.items() if k.startswith('QLinear') or k in ('QGemm', 'QuantizeLinear', 'DequantizeLinear')}
    return dict(int8=int8, other={k: v for k, v in ops.items() if k not in int8})

def best_times(preds:dict, x, bs:int) -> dict:
    "Images/s of each predictor over `x` at batch size `bs`: the best of `a.repeat` round-robin passes."
    best = {k: float('inf') for k in preds}
    for _ in range(a.repeat):
        for k, p in preds.items():
            t = time.perf_counter(); p.predict_proba(x, bs=bs); best[k] = min(best[k], time.perf_counter() - t)
    return {k: round(len(x) / t) for k, t in best.items()}

def one_image(model, img) -> float:
    "Seconds from starting `cifar-adv predict MODEL IMG` to its answer: the best of `a.repeat`."
    ts = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        run_cli([CLI, 'predict', str(model), str(img)])
        ts.append(time.perf_counter() - t)
    return round(min(ts), 3)

root, classes, files, ys = labelled_files(a.data)
x = decode_files(root, files)
res = dict(load_avg_1min_before=round(os.getloadavg()[0], 2), data=str(a.data), n_images=len(files), n_calib=a.n_calib, repeat=a.repeat, cpu=cpu_flags(),
           cpu_count=os.cpu_count(), onnxruntime=ort.__version__, threads=ort.SessionOptions().intra_op_num_threads or 'default',
           machine=platform.machine(), python=platform.python_version(), runs=[])
tmp = Path(tempfile.mkdtemp())
for run in a.runs:
    src, d = Path('results')/run, tmp/run
    paths = {'float32': d/'model.onnx', 'int8': d/'model.int8.onnx'}
    for fmt, p in (('onnx', paths['float32']), ('onnx-int8', paths['int8'])):
        run_cli([CLI, 'export', src, '--format', fmt, '--out', p, '--data', a.data, '--n_calib', str(a.n_calib)])
    preds = {k: Predictor.load(p) for k, p in paths.items()}
    y = np.array([preds['float32'].classes.index(classes[i]) for i in ys])
    top1 = {k: p.predict_proba(x, bs=256).argmax(1) for k, p in preds.items()}
    row = dict(run=run, arch=preds['float32'].meta['arch'],
               accuracy={k: float((t == y).mean()) for k, t in top1.items()},
               top1_agreement=float((top1['int8'] == top1['float32']).mean()),
               bytes={k: p.stat().st_size for k, p in paths.items()},
               img_s={f'bs{bs}': best_times(preds, x, bs) for bs in (1, 64, 256)},
               one_image_s={k: one_image(p, root/files[0]) for k, p in paths.items()},
               int8_settings=preds['int8'].int8, ops=run_ops(paths['int8']))
    row['size_ratio'] = round(row['bytes']['int8'] / row['bytes']['float32'], 3)
    row['speedup'] = {b: round(v['int8'] / v['float32'], 2) for b, v in row['img_s'].items()}
    row['accuracy_drop_points'] = round(100 * (row['accuracy']['float32'] - row['accuracy']['int8']), 2)
    res['runs'].append(row)
    print(json.dumps(row), flush=True)
atomic_write_text(a.out, json.dumps(res, indent=2) + '\n')
print(f"wrote {a.out}")
