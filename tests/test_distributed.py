"""Several processes on this CPU (gloo), as `torchrun` starts them: one run directory like a single process's, identical weights
on every rank, models that load elsewhere, a kill and a resume, two 'machines' on loopback. OMP_NUM_THREADS=1 keeps a 2-core
machine usable; every address is 127.0.0.1 and every wait is bounded."""
import json, os, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import CLI, run_cli, cli_cmd

TORCHRUN = Path(sys.executable).parent/'torchrun'
FIT = ['fit', '--arch', 'advnet_s', '--bs', 32, '--seed', 3, '--no_report']
# unbuffered, as CI may run: every process's error line must still arrive whole
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
FILES = ['export.pkl', 'metrics.csv', 'metrics.json', 'model.json', 'model.safetensors', 'models/best.pth',
         'models/checkpoint.pth', 'models/last.pth', 'run.json', 'schedule.csv', 'timings.csv']

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def torchrun(*args, nproc=2, extra=(), timeout=400, **kw):
    "`torchrun` on loopback with `nproc` processes running `cifar-adv` with `args`."
    cmd = [str(TORCHRUN), f'--nproc_per_node={nproc}', *extra, str(CLI), *map(str, args)]
    if not extra: cmd[1:1] = ['--master_addr=127.0.0.1', f'--master_port={free_port()}']
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, **kw)

def files(d): return sorted(p.relative_to(d).as_posix() for p in Path(d).rglob('*') if p.is_file())

# ---- fast: the pieces ----

def test_atomic_path_never_puts_an_empty_file_in_place(tmp_path):
    "fastai's save and export write nothing off rank 0: an empty temp file must not replace a checkpoint."
    from cifar_adv.core import atomic_path, atomic_write_text, RunFailed
    f = tmp_path/'export.pkl'; f.write_bytes(b'model')
    with pytest.raises(RunFailed, match='wrote nothing.*previous file is unchanged'):
        with atomic_path(f): pass
    assert f.read_bytes() == b'model' and [p.name for p in tmp_path.iterdir()] == ['export.pkl']
    with pytest.raises(RunFailed, match='nothing was written'):
        with atomic_path(tmp_path/'new.pth'): pass
    assert not (tmp_path/'new.pth').exists()
    atomic_write_text(tmp_path/'empty.csv', ''); assert (tmp_path/'empty.csv').read_text() == ''

def test_one_process_is_not_distributed(sample, tmp_path):
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner
    from cifar_adv.distrib import distributed, broadcast, all_gather, rank0_first, init_distrib
    assert init_distrib('cpu') is None and broadcast(3) == 3 and all_gather(3) == [3] and rank0_first(lambda x: x + 1, 1) == 2
    learn = get_learner(get_dls(load_arrays(sample), bs=32, n_train=64, n_valid=32, num_workers=0, device='cpu'), 'advnet_s')
    with distributed(learn, 'cpu') as l: assert l is learn and not any(type(c).__name__ == 'DistributedTrainer' for c in l.cbs)

def test_cpu_workaround_broadcasts_cpu_tensors(monkeypatch):
    "fastai's DistributedDL broadcasts with `.cuda()`; the work-around (`DistributedDLOnCPU`) sends a CPU tensor."
    import torch
    from cifar_adv.distrib import DistributedDLOnCPU
    sent = []
    monkeypatch.setattr(torch.distributed, 'broadcast', lambda t, rank: sent.append((t.device.type, rank)))
    assert DistributedDLOnCPU._broadcast(None, [3, 1, 2], 0) == [3, 1, 2] and sent == [('cpu', 0)]

# ---- slow: real processes ----

@pytest.fixture(scope='module')
def single(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp('dist')/'single'
    r = subprocess.run(cli_cmd(*FIT, '--epochs', 2, '--data', sample, '--out', out), capture_output=True, text=True, env=ENV, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

@pytest.mark.slow
def test_torchrun_two_processes_one_run_directory(single, sample, tmp_path):
    out = tmp_path/'two'
    t0 = time.time()
    r = torchrun(*FIT, '--epochs', 2, '--data', sample, '--out', out)
    assert r.returncode == 0, r.stderr[-4000:]
    assert files(out) == files(single) == FILES
    assert r.stdout.count('run directory:') == 1                 # one summary: rank 0's
    assert len((out/'metrics.csv').read_text().splitlines()) == 3
    m = json.loads((out/'metrics.json').read_text())
    assert m['world_size'] == 2 and m['backend'] == 'gloo' and m['effective_bs'] == 64 and m['device'] == 'cpu'
    assert len(m['weights_digests']) == 2 and len(set(m['weights_digests'])) == 1      # identical weights on both ranks
    from cifar_adv.distrib import weights_digest
    from cifar_adv.inference import Predictor
    assert weights_digest(Predictor.load(out).model) == m['weights_digests'][0]
    st = __import__('torch').load(out/'models'/'checkpoint.pth', weights_only=True)
    assert not any(k.startswith('module.') for k in st['model']) and len(st['rng_ranks']) == 2
    assert st['rng_ranks'][0]['aug'] != st['rng_ranks'][1]['aug']                        # each rank its own augmentation
    # export.pkl and model.safetensors load and predict in a fresh process
    img = next((sample/'test'/'cat').iterdir())
    for model in (out/'export.pkl', out/'model.safetensors'):
        p = run_cli('predict', model, img, '--json')
        assert p.returncode == 0, p.stderr[-2000:]
        assert json.loads(p.stdout)['predictions'][0]['label']
    print(f"torchrun x2, 2 epochs: {time.time() - t0:.0f} s")

@pytest.mark.slow
def test_torchrun_bf16_validates_the_final_weights_in_fp32_once_and_quietly(sample, tmp_path):
    "Every process's fp32 pass after a bf16 fit: rank 0 records it, and no process draws a progress bar for it in a log."
    out = tmp_path/'bf16'
    r = torchrun(*FIT, '--epochs', 1, '--data', sample, '--out', out, '--precision', 'bf16')
    assert r.returncode == 0, r.stderr[-4000:]
    heads = [l for l in r.stdout.splitlines() if l.startswith('epoch ')]
    assert '00:00<' not in r.stderr + r.stdout and len(heads) == 1, r.stderr[-2000:]   # rank 0's table once, no bars
    m = json.loads((out/'metrics.json').read_text())
    from cifar_adv.inference import Predictor, evaluate
    assert m['world_size'] == 2 and m['precision'] == 'bf16' and 'accuracy_autocast' in m
    assert m['accuracy'] == pytest.approx(evaluate(Predictor.load(out), sample)['accuracy'], abs=1e-6)

@pytest.mark.slow
def test_sigkill_of_the_job_then_resume_under_torchrun(sample, tmp_path):
    out = tmp_path/'killed'
    # `fit --nproc 2` starts torchrun itself, which starts the workers (in sessions of their own)
    p = subprocess.Popen(cli_cmd(*FIT, '--epochs', 4, '--data', sample, '--out', out, '--nproc', 2), env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (out/'timings.csv').exists():
        assert p.poll() is None and time.time() - t0 < 300, 'the job ended before its first checkpoint: ' + (p.communicate()[1] or '')[-3000:]
        time.sleep(0.01)
    import psutil                                                # the whole job at once: launcher, torchrun, workers
    job = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
    for q in job: q.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    psutil.wait_procs(job, timeout=60)
    done = len((out/'metrics.csv').read_text().splitlines()) - 1
    assert 1 <= done < 4 and not (out/'export.pkl').exists()
    assert all((out/f).stat().st_size > 0 for f in files(out))                        # no empty file anywhere
    r = torchrun('fit', '--resume', out)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f'resuming {out}: {done} of 4 epochs done' in r.stdout and r.stdout.count('resuming') == 1
    assert [l.split(',')[0] for l in (out/'metrics.csv').read_text().splitlines()] == ['epoch', '0', '1', '2', '3']
    m = json.loads((out/'metrics.json').read_text())
    assert m['resumed_at_epoch'] == done and len(set(m['weights_digests'])) == 1
    assert [f for f in files(out) if not f.startswith('report/')] == FILES      # and the report, by rank 0 alone:
    assert (out/'report'/'gradcam.png').is_file() and 'report' in m              # fastai's gathers must not wait for the others

@pytest.mark.slow
def test_two_nodes_on_loopback(sample, tmp_path):
    out, port = tmp_path/'nodes', free_port()
    common = ['--nnodes=2', '--master_addr=127.0.0.1', f'--master_port={port}']
    def node(rank):
        return subprocess.Popen([str(TORCHRUN), '--nproc_per_node=1', *common, f'--node_rank={rank}', str(CLI),
                                 *map(str, [*FIT, '--epochs', 1, '--data', sample, '--out', out])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    ps = [node(0), node(1)]
    try: res = [(p.wait(timeout=400), *p.communicate()) for p in ps]
    finally:
        for p in ps:
            if p.poll() is None: p.kill()
    assert [r[0] for r in res] == [0, 0], res[0][2][-3000:] + res[1][2][-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['world_size'] == 2 and len(set(m['weights_digests'])) == 1 and files(out) == FILES

@pytest.mark.slow
def test_divergence_stops_every_process_with_one_message(sample, tmp_path):
    out = tmp_path/'nan'
    r = torchrun(*FIT, '--epochs', 2, '--data', sample, '--out', out, '--lr', '1e30')
    lines = [l for l in r.stderr.splitlines() if l.startswith('cifar-adv: error: ')]
    assert r.returncode != 0 and len(lines) == 2 and lines[0] == lines[1], r.stderr[-3000:]
    assert 'training diverged' in lines[0] and 'of 2; nothing was saved' in lines[0]
    assert not (out/'export.pkl').exists() and not (out/'models'/'checkpoint.pth').exists()
