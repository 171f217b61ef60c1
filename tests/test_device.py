"Devices and precision: --device/--precision/--num_workers/--deterministic, device-correct checkpoints, and the GPU check in its CPU smoke mode."
import json, os, shutil, subprocess, sys
import pytest
import torch
from conftest import ROOT

NO_CUDA = not torch.cuda.is_available()

@pytest.mark.skipif(not NO_CUDA, reason='checks the messages of a machine without CUDA')
@pytest.mark.parametrize('args, msg', [
    (['--device', 'cuda'], '--device cuda: CUDA is not available on this machine'),
    (['--device', 'cuda:7'], '--device cuda:7: CUDA is not available on this machine'),
    (['--device', 'tpu'], "--device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    (['--precision', 'fp16'], '--precision fp16 needs a CUDA device'),
    (['--precision', 'fp16', '--device', 'cpu'], '--precision fp16 needs a CUDA device (on the CPU use bf16 or fp32)'),
    (['--precision', 'fp8'], "--precision must be auto, fp32, fp16 or bf16, got 'fp8'"),
    (['--num_workers', '-1'], 'num_workers must be >= 0, got -1'),
    (['--nproc', '0'], '--nproc must be > 0, got 0'),
    (['--nproc', '2', '--device', 'cuda'], '--device cuda: CUDA is not available on this machine'),
    (['--nproc', '2', '--precision', 'fp16'], '--precision fp16 needs a CUDA device'),
    (['--nproc', '2', '--precision', 'fp8'], "--precision must be auto, fp32, fp16 or bf16, got 'fp8'"),
], ids=['cuda', 'cuda:7', 'tpu', 'fp16-on-cpu', 'fp16-on-cpu-named', 'fp8', 'workers', 'nproc-0', 'nproc-cuda', 'nproc-fp16', 'nproc-fp8'])
def test_bad_device_or_precision_one_line_exit_2_nothing_written(args, msg, tmp_path, sample, capsys):
    from cifar_adv.cli import main
    out = tmp_path/'run'
    assert main(['fit', '--data', str(sample), '--out', str(out), '--epochs', '1', *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('cifar-adv: error: ') and msg in err[-1], err
    assert not out.exists()

@pytest.mark.skipif(not NO_CUDA, reason='a machine without CUDA')
def test_other_verbs_refuse_a_missing_device(tmp_path, sample, capsys):
    from cifar_adv.cli import main
    model = ROOT/'results'/'advnet-15ep'/'model.safetensors'
    img = next((sample/'test'/'cat').iterdir())
    assert main(['predict', str(model), str(img), '--device', 'cuda']) == 2
    assert main(['evaluate', str(model), '--data', str(sample), '--device', 'cuda:0']) == 2
    assert main(['lr-find', '--data', str(sample), '--out', str(tmp_path/'lr'), '--device', 'cuda']) == 2
    run = tmp_path/'run'; shutil.copytree(ROOT/'results'/'advnet-15ep', run)    # a finished run: only the device is wrong
    assert main(['report', str(run), '--device', 'mps']) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(l.startswith('cifar-adv: error: ') for l in lines), lines
    assert '--device cuda' in lines[0] and '--device cuda:0' in lines[1] and '--device cuda' in lines[2] and '--device mps' in lines[3], lines
    assert not (tmp_path/'lr').exists() and not (run/'report').exists()

@pytest.mark.skipif(not NO_CUDA, reason='a machine without CUDA')
def test_report_names_a_missing_run_before_the_device(tmp_path, capsys):
    from cifar_adv.cli import main
    assert main(['report', str(tmp_path/'nope'), '--device', 'mps']) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"cifar-adv: error: run directory not found: {tmp_path/'nope'}"]

def test_auto_is_fastais_default_device_and_fp32_on_cpu():
    from fastai.torch_core import default_device
    from cifar_adv.dls import resolve_device
    from cifar_adv.learner import resolve_precision
    assert resolve_device('auto') == default_device() and resolve_device(None) == default_device()
    assert resolve_device('CPU') == torch.device('cpu')
    assert resolve_precision('auto', 'cpu') == 'fp32' and resolve_precision('fp32', 'cpu') == 'fp32'

@pytest.mark.slow
@pytest.mark.filterwarnings('ignore:load_learner')
def test_bf16_on_the_cpu_autocasts_the_convolutions_and_exports_fp32(sample, tmp_path):
    "`precision='bf16'` on the CPU: the convolutions run in bfloat16 while training, the weights stay fp32, and the exported learner predicts in fp32."
    from fastai.learner import load_learner
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner, CPUMixedPrecision, validate_fp32
    from cifar_adv.checkpoint import export_learner
    dls = get_dls(load_arrays(sample), bs=32, n_train=64, n_valid=32, num_workers=0, device='cpu')
    learn = get_learner(dls, 'advnet_s', path=tmp_path, precision='bf16')
    assert learn.precision == 'bf16' and any(isinstance(cb, CPUMixedPrecision) for cb in learn.cbs)
    conv = next(m for m in learn.model.modules() if isinstance(m, torch.nn.Conv2d))
    seen = []
    h = conv.register_forward_hook(lambda m, i, o: seen.append((m.training, o.dtype)))
    learn.fit(1, 1e-3)
    h.remove()
    assert (True, torch.bfloat16) in seen                         # training steps autocast
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())
    fp32 = get_learner(dls, 'advnet_s', path=tmp_path, precision='fp32')
    assert not any(isinstance(cb, CPUMixedPrecision) for cb in fp32.cbs)
    preds, _ = learn.get_preds(dl=dls.valid)                      # in process, after fit
    assert preds.shape == (len(dls.valid_ds), 10) and preds.dtype == torch.float32
    export_learner(learn)
    back = load_learner(tmp_path/'export.pkl', cpu=True)          # fastai drops mixed precision on the CPU: fp32 inference
    assert not any(isinstance(cb, CPUMixedPrecision) for cb in back.cbs)
    seen.clear(); h = conv.register_forward_hook(lambda m, i, o: seen.append((m.training, o.dtype)))
    loss, acc = validate_fp32(learn)
    h.remove()
    assert seen and set(seen) == {(False, torch.float32)} and 0 <= acc <= 1 and loss > 0   # evaluated as `evaluate` runs it
    assert any(isinstance(cb, CPUMixedPrecision) for cb in learn.cbs)                        # and the learner still autocasts

@pytest.mark.slow
def test_a_bf16_run_records_its_final_weights_validated_in_fp32(sample, tmp_path, capsys):
    "A bf16 run's `accuracy` and `valid_loss` are its final weights in fp32, what `evaluate` gives; its last autocast validation stays beside them."
    import pandas as pd
    from cifar_adv.core import Recipe, Machine
    from cifar_adv.train import fit_run
    from cifar_adv.inference import Predictor, evaluate
    out = tmp_path/'run'
    m = fit_run(out, Recipe(arch='advnet_s', epochs=2, bs=32), Machine(precision='bf16'), data=sample, show_progress=False)
    table = capsys.readouterr().out.splitlines()                         # the fp32 pass prints no table of its own
    assert [l.split()[0] for l in table if l.strip()] == ['epoch', '0', '1'], table
    last = pd.read_csv(out/'metrics.csv').iloc[-1]
    assert m['precision'] == 'bf16' and (m['accuracy_autocast'], m['valid_loss_autocast']) == pytest.approx((last.accuracy, last.valid_loss))
    assert m['valid_loss'] != m['valid_loss_autocast']                     # a second pass, not the autocast row copied
    assert m == json.loads((out/'metrics.json').read_text()) and m['accuracy'] == pytest.approx(evaluate(Predictor.load(out), sample)['accuracy'], abs=1e-6)
    fp32 = fit_run(tmp_path/'fp32', Recipe(arch='advnet_s', epochs=1, bs=32), Machine(precision='fp32'), data=sample, show_progress=False)
    assert 'accuracy_autocast' not in fp32 and 'valid_loss_autocast' not in fp32

def test_default_workers_share_the_cores_beside_a_gpu(monkeypatch):
    from cifar_adv.dls import default_workers
    assert default_workers('cpu') == 0
    monkeypatch.setattr('cifar_adv.dls._cores', lambda: 16)
    assert default_workers(torch.device('cuda', 0)) == 8
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '4')
    assert default_workers(torch.device('cuda', 0)) == 4
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '32')
    assert default_workers(torch.device('cuda', 0)) == 1

def test_seed_run_leaves_cudnn_alone_unless_deterministic():
    from cifar_adv.learner import seed_run
    seed_run(0, 'cpu')
    assert torch.backends.cudnn.deterministic                    # a CPU run: as before (set_seed reproducible)
    torch.backends.cudnn.deterministic = False
    seed_run(0, torch.device('cuda', 0))                          # a GPU: the autotuner, not deterministic mode
    assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark
    seed_run(0, torch.device('cuda', 0), deterministic=True)
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark

@pytest.mark.slow
def test_resume_state_takes_a_ddp_checkpoint_onto_the_runs_device(sample, tmp_path):
    "A checkpoint of a wrapped model (`module.` keys) and an optimizer state on another device resume onto the learner's device."
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner
    from cifar_adv.checkpoint import resume_state, rng_state, _opt_state, plain_state, _to
    dls = get_dls(load_arrays(sample), bs=32, n_train=64, n_valid=32, num_workers=0, device='cpu')
    learn = get_learner(dls, 'advnet_s', path=tmp_path)
    learn.fit(1, 1e-3)
    st = dict(model={'module.' + k: v for k, v in learn.model.state_dict().items()}, opt=_opt_state(learn.opt), rng=rng_state(learn))
    assert list(plain_state(st['model'])) == list(learn.model.state_dict())
    assert _to(dict(a=[torch.zeros(1)], b=(torch.ones(1), 2)), 'meta')['b'][0].device.type == 'meta'
    learn2 = get_learner(dls, 'advnet_s', path=tmp_path)
    resume_state(learn2, st)
    assert all((a == b).all() for a, b in zip(learn.model.state_dict().values(), learn2.model.state_dict().values()))
    devs = {t.device for s in learn2.opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)}
    assert devs == {torch.device('cpu')}
    learn2.fit(1, 1e-3)                                           # the optimizer steps with its restored state

def test_predictor_runs_on_the_device_asked(sample):
    import numpy as np
    from cifar_adv.inference import Predictor
    model = ROOT/'results'/'advnet-15ep'/'model.safetensors'
    p, q = Predictor.load(model), Predictor.load(model, device='auto')
    assert str(p.device) == 'cpu'
    x = np.zeros((2, 32, 32, 3), np.uint8)
    assert np.allclose(p.predict_proba(x), q.predict_proba(x), atol=1e-4)

@pytest.mark.slow
def test_gpu_check_runs_every_step_in_cpu_smoke_mode(tmp_path):
    "bench/gpu_check.py --cpu-smoke: the GPU check's steps, tiny, on the CPU; every step runs (its figures mean nothing)."
    out = tmp_path/'gpu_check.json'
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'gpu_check.py'), '--cpu-smoke', '--out', str(out), '--work', str(tmp_path/'w'),
                        '--budget-s', '400'], capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    res = json.loads(out.read_text())
    bad = {k: v.get('error') or v.get('skipped') for k, v in res['steps'].items() if 'error' in v or ('skipped' in v and 'the device is the CPU' not in v['skipped'])}
    assert r.returncode == 0 and res['ok'] and not bad, (bad, r.stderr[-2000:])
    assert res['smoke'] and res['device'] == 'cpu' and res['steps']['distributed']['backend'] == 'gloo'
    assert res['steps']['kill_resume']['rows'] == res['settings']['epochs'] and res['steps']['inference']['report']['gradcam']
    assert res['steps']['model_img_s']['fp16'] == 'needs CUDA'

def test_report_refuses_n_0_before_writing(tmp_path, capsys):
    "`cifar-adv report --n 0`: one line naming --n, exit 2, no report/ folder."
    from cifar_adv.cli import main
    run = tmp_path/'run'; shutil.copytree(ROOT/'results'/'advnet-15ep', run)
    assert main(['report', str(run), '--n', '0']) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["cifar-adv: error: --n must be > 0, got 0"]
    assert not (run/'report').exists()
