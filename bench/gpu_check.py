"""The GPU check: what one GPU does with this project, measured in at most 8 minutes and written as one JSON.

    python tools/pack_gpu.py                      # here: wheels and a CIFAR-10 subset into gpu_pack/ (gitignored)
    sh gpu_pack/run.sh                            # on the GPU machine: installs what is missing, runs this script into $OUT
    python bench/gpu_check.py --cpu-smoke --out /tmp/gpu_check.json     # the same steps, tiny, on the CPU (tests/test_device.py)

Steps, each timed; a failing step records its error and the others go on; a step that would start after the time
budget is recorded as skipped. `images/s` counts training images only; a warm-up is never counted.
- env: torch, CUDA, the GPU and whether it has bf16, the cores;
- pipeline_img_s: the training DataLoader alone (decoded arrays, Albumentations, onto the device, normalised), for
  --aug flip-crop and --aug seed, with the default workers beside a GPU;
- model_img_s: forward, backward and Adam step of the default arch (--arch) alone on random batches already on the device, fp32,
  fp16 and bf16 (autocast; fp16 with a GradScaler);
- train_img_s: fastai training of the default arch with the data pipeline, one epoch after a warm-up, --aug flip-crop
  and seed at the auto precision, and fp32/fp16/bf16 with flip-crop: if it is well below both model_img_s and
  pipeline_img_s, something else is the bottleneck; if pipeline_img_s is below model_img_s, the GPU starves;
- kill_resume: `cifar-adv fit` on the device, SIGKILLed after its first checkpoint, then `--resume` to the end;
- cpu_to_device_resume, device_to_cpu_resume: a run started on one, killed, resumed on the other;
- inference: `export`, `predict` and `evaluate` on the device (and evaluate on the CPU, to compare), and the `report`
  (GradCAM) of the device-trained run;
- distributed: a 1-process `torchrun` run over NCCL (gloo on the CPU), checking its backend and world size.
"""
import json, os, sys, time, signal, subprocess, tempfile, traceback, contextlib, io
from pathlib import Path
from _args import bench_parser

ROOT = Path(__file__).resolve().parents[1]
ap = bench_parser(__doc__, data=None, arch=None, bs=256)
ap.add_argument('--cpu-smoke', action='store_true', help='tiny settings on the CPU: checks that every step runs (no figure from it means anything)')
ap.add_argument('--budget-s', type=float, default=None, help='time budget: no step starts after it (default: 450, 240 with --cpu-smoke)')
ap.add_argument('--work', default=None, help='folder for the runs it trains (default: a temporary folder)')
ap.add_argument('--out', default=None, help='the JSON file written, after every step (default: gpu_check.json in $OUT, else in --work)')
a = ap.parse_args()

T0 = time.time()
SMOKE = a.cpu_smoke
BUDGET = a.budget_s or (240 if SMOKE else 450)
WORK = Path(a.work or tempfile.mkdtemp(prefix='gpu_check.'))
WORK.mkdir(parents=True, exist_ok=True)
OUT = Path(a.out) if a.out else Path(os.environ['OUT'])/'gpu_check.json' if os.environ.get('OUT') else WORK/'gpu_check.json'
DATA = a.data or str(ROOT/'examples'/'cifar10_sample' if SMOKE else ROOT/'gpu_pack'/'cifar10_subset.tgz')
os.environ.setdefault('CIFAR_ADV_CACHE', str(WORK/'cache'))
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
sys.path.insert(0, str(ROOT))                  # the project itself, installed or not
ENV = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), *filter(None, [os.environ.get('PYTHONPATH')])])}
if SMOKE: ENV['OMP_NUM_THREADS'] = '1'
CLI = [sys.executable, '-m', 'cifar_adv.cli']   # no console script needed

import torch                                    # after the arguments: --help answers at once
DEV = 'cpu' if SMOKE else 'cuda'
if not SMOKE and not torch.cuda.is_available(): sys.exit("gpu_check: no CUDA device here; --cpu-smoke runs the steps on the CPU")
S = dict(bs=16, n_train=64, epochs=4, n_cpu=100, batches=3, warm=1) if SMOKE else \
    dict(bs=a.bs, n_train=None, epochs=4, n_cpu=1000, batches=60, warm=10)
PRECISIONS = ['fp32'] if SMOKE else ['fp32', 'fp16', 'bf16']

res = dict(script='bench/gpu_check.py', smoke=SMOKE, device=DEV, data=DATA, settings=S, budget_s=BUDGET,
           note='measured by this script on the machine in env; a --cpu-smoke result only shows that the steps run', steps={})

def save():
    res['total_s'] = round(time.time() - T0, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + '\n')

@contextlib.contextmanager
def step(name):
    "Time a step into res['steps'][name]; record its error instead of stopping; skip it past the budget."
    r = res['steps'].setdefault(name, {})
    if time.time() - T0 > BUDGET:
        r['skipped'] = f'time budget of {BUDGET:.0f} s spent'; save(); yield None; return
    t = time.time()
    try: yield r
    except Exception as e:
        r['error'] = f'{type(e).__name__}: {e}'.splitlines()[0][:500]
        r['traceback'] = traceback.format_exc()[-1500:]
    finally:
        r['s'] = round(time.time() - t, 1)
        print(f"[{time.time() - T0:6.1f} s] {name}: {'error' if 'error' in r else 'skipped' if 'skipped' in r else 'ok'}", file=sys.stderr)
        save()

def sync():
    if DEV == 'cuda': torch.cuda.synchronize()

def cli(*args) -> tuple:
    "`cifar-adv args` in this process: (exit status, stdout)."
    from cifar_adv.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): rc = main([str(v) for v in args])
    return rc, buf.getvalue()

def killed_run(out:Path, device:str, n_train, epochs:int) -> int:
    "Start `cifar-adv fit` on `device` and SIGKILL it once its first epoch is checkpointed; the epochs it finished."
    args = ['fit', '--data', DATA, '--out', out, '--device', device, '--epochs', epochs, '--bs', S['bs'], '--no_report', '--arch', ARCH]
    if n_train: args += ['--n_train', n_train]
    p = subprocess.Popen(CLI + [str(v) for v in args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t = time.time()
    while not (out/'timings.csv').exists():
        if p.poll() is not None: raise RuntimeError(f'fit ended before its first checkpoint: {p.stderr.read()[-500:]}')
        if time.time() - t > 240: p.kill(); raise RuntimeError('no checkpoint after 240 s')
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL); p.wait(timeout=60)
    if (out/'metrics.json').exists(): raise RuntimeError('the run finished before the kill: use more epochs')
    return len((out/'metrics.csv').read_text().splitlines()) - 1

def resumed(out:Path, device:str, r:dict, epochs:int):
    "`fit --resume` on `device`; checks one metrics.csv row per epoch and the device recorded."
    rc, so = cli('fit', '--resume', out, '--device', device, '--no_report')
    assert rc == 0, f'resume exited {rc}'
    m = json.loads((out/'metrics.json').read_text())
    rows = len((out/'metrics.csv').read_text().splitlines()) - 1
    r.update(resumed_on=m['device'], precision=m['precision'], rows=rows, accuracy=m['accuracy'], resumed_at_epoch=m['resumed_at_epoch'])
    assert rows == epochs and m['device'].startswith(device), (rows, m['device'])

# ---- env ----
with step('env') as r:
    import platform
    r.update(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda, cores=os.cpu_count(),
             cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        r.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(), bf16=torch.cuda.is_bf16_supported(),
                 cudnn=torch.backends.cudnn.version(), capability=list(torch.cuda.get_device_capability(0)))
    import fastai, albumentations
    r.update(fastai=fastai.__version__, albumentations=albumentations.__version__)

from cifar_adv.core import RECIPE
from cifar_adv.data import load_arrays
from cifar_adv.dls import get_dls
from cifar_adv.models import create_model
from cifar_adv.learner import get_learner, seed_run
ARCH = a.arch or ('advnet_s' if SMOKE else RECIPE.arch)    # the default arch on a GPU; the smallest in the smoke test
res['arch'] = ARCH

with step('load') as r:
    arrs = load_arrays(DATA)
    r.update(train=len(arrs.train_y), test=len(arrs.valid_y))

# ---- the data pipeline alone ----
with step('pipeline_img_s') as r:
    for aug in ('flip-crop', 'seed'):
        dls = get_dls(arrs, bs=S['bs'], aug=aug, n_train=S['n_train'], n_valid=S['bs'], device=DEV)
        n, t = 0, None
        for i, (xb, yb) in enumerate(dls.train):
            if i == S['warm']: sync(); t = time.time()
            elif i > S['warm']: n += len(xb)
            if i >= S['warm'] + S['batches']: break
        sync()
        r[aug] = round(n / (time.time() - t), 1) if n else None
        r['num_workers'] = dls.train.fake_l.num_workers
        del dls

# ---- the model alone ----
with step('model_img_s') as r:
    import torch.nn as nn
    for prec in PRECISIONS:
        seed_run(0, DEV)
        model = create_model(ARCH).to(DEV).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        x = torch.randn(S['bs'], 3, 32, 32, device=DEV).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (S['bs'],), device=DEV)
        dtype = dict(fp16=torch.float16, bf16=torch.bfloat16).get(prec)
        scaler = torch.amp.GradScaler('cuda', enabled=prec == 'fp16') if DEV == 'cuda' else None
        if prec == 'bf16' and not torch.cuda.is_bf16_supported(): r[prec] = 'no bf16 on this GPU'; continue
        def one():
            with torch.autocast(DEV, dtype=dtype, enabled=dtype is not None):
                loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            if scaler: scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
            else: loss.backward(); opt.step()
        for _ in range(S['warm'] + 2): one()
        sync(); t = time.time()
        for _ in range(S['batches']): one()
        sync()
        r[prec] = round(S['batches'] * S['bs'] / (time.time() - t), 1)
    if SMOKE: r.update(fp16='needs CUDA', bf16='needs CUDA')

# ---- training: the pipeline and the model together, through fastai ----
from fastai.callback.core import Callback, CancelFitException

class Timed(Callback):
    "Images/s of the training batches after `warm`; stops the fit before validation."
    def __init__(self, warm): self.warm, self.n, self.t = warm, 0, None
    def after_batch(self):
        if not self.training: return
        if self.iter == self.warm - 1: sync(); self.t = time.time()
        elif self.iter >= self.warm: self.n += find_bs(self.yb)
    def after_train(self):
        sync(); self.img_s = round(self.n / (time.time() - self.t), 1) if self.t and self.n else None
        raise CancelFitException()

from fastai.torch_core import find_bs

def train_img_s(aug, precision):
    seed_run(0, DEV)
    dls = get_dls(arrs, bs=S['bs'], aug=aug, n_train=S['n_train'], n_valid=S['bs'], device=DEV)
    learn = get_learner(dls, ARCH, precision=precision)
    cb = Timed(S['warm'])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=cb)
    return cb.img_s, learn.precision, len(dls.train)

with step('train_img_s') as r:
    for aug in ('flip-crop', 'seed'):
        v, p, n = train_img_s(aug, 'auto')
        r[f'{aug}_{p}'] = v
    r['batches_per_epoch'] = n
    for prec in PRECISIONS:
        if f'flip-crop_{prec}' not in r: r[f'flip-crop_{prec}'] = train_img_s('flip-crop', prec)[0]

# ---- kill and resume ----
with step('kill_resume') as r:
    run = WORK/'kill_resume'
    r['killed_after_epochs'] = killed_run(run, DEV, S['n_cpu'] * (1 if SMOKE else 5), S['epochs'])
    resumed(run, DEV, r, S['epochs'])

if DEV == 'cpu':
    res['steps']['cpu_to_device_resume'] = res['steps']['device_to_cpu_resume'] = dict(skipped='the device is the CPU: kill_resume is the same')
else:
    with step('cpu_to_device_resume') as r:
        run = WORK/'cpu_to_device'
        r['killed_after_epochs'] = killed_run(run, 'cpu', S['n_cpu'], S['epochs'])
        resumed(run, DEV, r, S['epochs'])
    with step('device_to_cpu_resume') as r:
        run = WORK/'device_to_cpu'
        r['killed_after_epochs'] = killed_run(run, DEV, S['n_cpu'], S['epochs'])
        resumed(run, 'cpu', r, S['epochs'])

# ---- export, predict, evaluate, report of the device-trained run ----
with step('inference') as r:
    run = WORK/'kill_resume'
    assert (run/'export.pkl').exists(), 'no device-trained run (kill_resume failed)'
    t = time.time(); rc, _ = cli('export', run, '--out', run/'exported'); r['export'] = dict(rc=rc, s=round(time.time() - t, 1))
    img = next(p for p in sorted((ROOT/'examples'/'cifar10_sample'/'test'/'cat').iterdir()))
    t = time.time(); rc, so = cli('predict', run, img, '--device', DEV, '--json')
    r['predict'] = dict(rc=rc, s=round(time.time() - t, 1), label=json.loads(so)['predictions'][0]['label'] if rc == 0 else None)
    accs = {}
    for dev in dict.fromkeys([DEV, 'cpu']):
        t = time.time(); rc, so = cli('evaluate', run, '--data', DATA, '--device', dev, '--json')
        accs[dev] = json.loads(so)['accuracy'] if rc == 0 else None
        r[f'evaluate_{dev}'] = dict(rc=rc, s=round(time.time() - t, 1), accuracy=accs[dev], n_images=json.loads(so)['n_images'] if rc == 0 else None)
    t = time.time(); rc, _ = cli('report', run, '--device', DEV)
    r['report'] = dict(rc=rc, s=round(time.time() - t, 1), gradcam=(run/'report'/'gradcam.png').exists())
    assert r['export']['rc'] == r['predict']['rc'] == r['report']['rc'] == 0 and None not in accs.values(), r

# ---- one process of a distributed run ----
with step('distributed') as r:
    run = WORK/'distributed'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1', '-m', 'cifar_adv.cli', 'fit',
           '--data', DATA, '--out', str(run), '--device', DEV, '--epochs', '1', '--bs', str(S['bs']), '--no_report', '--arch', ARCH,
           '--n_train', str(S['n_cpu'] * (1 if SMOKE else 5))]
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-800:]
    m = json.loads((run/'metrics.json').read_text())
    r.update(backend=m['backend'], world_size=m['world_size'], device=m['device'], precision=m['precision'], epoch_time_s=m['epoch_time_s'])
    assert m['backend'] == ('gloo' if DEV == 'cpu' else 'nccl') and m['world_size'] == 1, (m['backend'], m['world_size'])

res['ok'] = all('error' not in v for v in res['steps'].values())
save()
print(json.dumps(res, indent=2))
sys.exit(0 if res['ok'] else 1)
