"Reliability: same seed, same metrics; resume after SIGKILL or Ctrl-C; divergence; a full disk; the bad-input table."
import json, resource, shutil, signal, subprocess, time
import pytest
from conftest import run_cli, cli_cmd, call_cli

EPOCHS = 4
FIT = ['fit', '--arch', 'advnet_s', '--epochs', EPOCHS, '--bs', 32, '--seed', 3, '--no_report',
       '--aug', 'seed']     # the full recipe: every transform's random state must survive a resume

def one_error_line(r, code):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, r.stderr[-2000:]
    assert lines and lines[-1].startswith('cifar-adv: error: ') and 'Traceback' not in r.stderr, r.stderr[-2000:]
    return lines[-1]

@pytest.fixture(scope='module')
def ref(tmp_path_factory, sample):
    "An uninterrupted run: the reference for reproducibility and resume."
    out = tmp_path_factory.mktemp('rel')/'ref'
    r = run_cli(*FIT, '--data', sample, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def _default_sigint():
    "In the child: SIGINT back to its default, as a terminal's Ctrl-C finds it (a test runner started in the background by a non-interactive shell inherits it ignored)."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def start_and_stop(out, sample, sig):
    "Start a fit, send `sig` as soon as its first epoch is fully logged (checkpoint, metrics.csv, then timings.csv); return the process result."
    p = subprocess.Popen(cli_cmd(*FIT, '--data', sample, '--out', out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_default_sigint)
    t0 = time.time()
    while not (out/'timings.csv').exists():
        assert p.poll() is None and time.time() - t0 < 300, 'fit ended before its first checkpoint'
        time.sleep(0.005)
    p.send_signal(sig)
    o, e = p.communicate(timeout=300)
    return p.returncode, o, e

def same_weights(a, b):
    from safetensors.torch import load_file
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all((x[k] == y[k]).all() for k in x)

@pytest.mark.slow
def test_same_seed_same_metrics(ref, sample, tmp_path):
    out = tmp_path/'again'
    r = run_cli(*FIT, '--data', sample, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'metrics.csv').read_text() == (ref/'metrics.csv').read_text()
    assert len((ref/'metrics.csv').read_text().splitlines()) == EPOCHS + 1
    assert (out/'schedule.csv').read_text() == (ref/'schedule.csv').read_text()
    assert same_weights(out/'model.safetensors', ref/'model.safetensors')

@pytest.mark.slow
def test_resume_after_sigkill_is_the_uninterrupted_run(ref, sample, tmp_path):
    out = tmp_path/'killed'
    rc, _, _ = start_and_stop(out, sample, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    done = len((out/'metrics.csv').read_text().splitlines()) - 1
    assert 1 <= done < EPOCHS and not (out/'export.pkl').exists()
    r = run_cli('fit', '--resume', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'resuming {out}: {done} of {EPOCHS} epochs done' in r.stdout
    # one row per epoch, and the very numbers of the run that was never interrupted
    assert (out/'metrics.csv').read_text() == (ref/'metrics.csv').read_text()
    assert (out/'schedule.csv').read_text() == (ref/'schedule.csv').read_text()
    assert same_weights(out/'model.safetensors', ref/'model.safetensors')
    m, mr = json.loads((out/'metrics.json').read_text()), json.loads((ref/'metrics.json').read_text())
    assert m['accuracy'] == mr['accuracy'] and m['resumed_at_epoch'] == done
    # the wall time counts the part before the kill too (up to its last checkpoint), so it covers every epoch's time
    assert mr['wall_time_before_resume_s'] is None and 0 < m['wall_time_before_resume_s'] < m['wall_time_s']
    assert m['wall_time_s'] >= m['fit_time_s']
    r = run_cli('fit', '--resume', out)
    assert 'nothing to resume' in one_error_line(r, 2)

@pytest.mark.slow
def test_ctrl_c_says_how_to_resume(ref, sample, tmp_path):
    out = tmp_path/'interrupted'
    rc, _, err = start_and_stop(out, sample, signal.SIGINT)
    assert rc == 130 and f'resume with: cifar-adv fit --resume {out}' in err and 'Traceback' not in err
    assert not list(out.rglob('*.tmp'))
    r = run_cli('fit', '--resume', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'metrics.csv').read_text() == (ref/'metrics.csv').read_text()

def limit_file_size(nbytes):
    "A `preexec_fn` that makes writing past `nbytes` fail, as a full disk would (EFBIG instead of ENOSPC)."
    def f():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return f

@pytest.mark.slow
def test_full_disk_during_checkpoint_keeps_the_last_one(ref, sample, tmp_path):
    out = tmp_path/'full'
    start_and_stop(out, sample, signal.SIGKILL)
    before = {f: (out/f).read_bytes() for f in ('models/checkpoint.pth', 'models/best.pth', 'metrics.csv')}
    r = subprocess.run(cli_cmd('fit', '--resume', out), capture_output=True, text=True, preexec_fn=limit_file_size(100_000))
    line = one_error_line(r, 1)
    assert 'could not write' in line and '/models/' in line and 'the previous file is unchanged' in line   # best.pth or checkpoint.pth
    assert all((out/f).read_bytes() == b for f, b in before.items())
    assert not [p for p in out.rglob('*') if p.name.endswith('.tmp')]
    r = run_cli('fit', '--resume', out)                          # with room again, it finishes as if nothing happened
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'metrics.csv').read_text() == (ref/'metrics.csv').read_text()

@pytest.mark.slow
def test_full_disk_during_export_keeps_the_previous_file(ref, tmp_path):
    d = shutil.copytree(ref, tmp_path/'copy')
    before = (d/'model.safetensors').read_bytes()
    r = subprocess.run(cli_cmd('export', d), capture_output=True, text=True, preexec_fn=limit_file_size(50_000))
    line = one_error_line(r, 1)
    assert 'could not write' in line and 'model.safetensors' in line and 'previous file is unchanged' in line
    assert (d/'model.safetensors').read_bytes() == before and not list(d.glob('.*.tmp'))

@pytest.mark.slow
def test_divergence_stops_and_saves_nothing_broken(ref, sample, tmp_path):
    d = shutil.copytree(ref, tmp_path/'rerun')                    # an earlier run's export is in the folder
    before = {f: (d/f).read_bytes() for f in ('export.pkl', 'model.safetensors', 'models/checkpoint.pth')}
    r = run_cli(*FIT, '--data', sample, '--out', d, '--force', '--lr', '1e30')
    line = one_error_line(r, 1)
    assert 'training diverged' in line and 'try a lower --lr' in line
    assert all((d/f).read_bytes() == b for f, b in before.items())

# ---- the bad-input table (docs: nbs/06a_cli.ipynb, "Bad input") ----

def _dataset(tmp_path, sample, change=None):
    d = shutil.copytree(sample, tmp_path/'data')
    if change: change(d)
    return d

def _truncate(d):
    f = sorted((d/'train'/'cat').iterdir())[0]
    f.write_bytes(f.read_bytes()[:100])

def _text_png(d): (d/'train'/'dog'/'notes.png').write_text('not an image')

def _big_grey(d):
    from PIL import Image
    Image.open(sorted((d/'train'/'cat').iterdir())[0]).convert('L').resize((64, 64)).save(d/'train'/'cat'/'big-grey.png')

def _rm(sub): return lambda d: shutil.rmtree(d/sub)

def _empty_class(d): shutil.rmtree(d/'test'/'frog'); (d/'test'/'frog').mkdir()

BAD_DATA = [   # (case, change to a copy of the sample, expected message)
    ('half dataset: no test/', _rm('test'), 'missing test/'),
    ('half dataset: no train/', _rm('train'), 'missing train/'),
    ('a class folder without images', _empty_class, 'has no images'),
    ('a truncated PNG in train/', _truncate, 'unreadable image'),
    ('a text file named .png', _text_png, 'unreadable image'),
]

@pytest.mark.parametrize('case, change, msg', BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_dataset(tmp_path, sample, case, change, msg, capsys):
    d = _dataset(tmp_path, sample, change)
    out = tmp_path/'run'
    line = one_error_line(call_cli(capsys, 'fit', '--data', d, '--out', out, '--epochs', 1), 2)
    assert msg in line
    if 'unreadable' in msg: assert '--skip-bad' in line and str(d) in line
    assert not out.exists()                                     # nothing written

def test_empty_and_missing_dataset(tmp_path, capsys):
    (tmp_path/'empty').mkdir()
    assert 'missing train/ and test/' in one_error_line(call_cli(capsys, 'fit', '--data', tmp_path/'empty', '--out', tmp_path/'r'), 2)
    assert 'data path not found' in one_error_line(call_cli(capsys, 'fit', '--data', tmp_path/'nope', '--out', tmp_path/'r'), 2)
    assert not (tmp_path/'r').exists()

@pytest.mark.slow
def test_skip_bad(tmp_path, sample, capsys):
    d = _dataset(tmp_path, sample, lambda d: (_truncate(d), _text_png(d)))
    out = tmp_path/'run'
    r = call_cli(capsys, 'fit', '--data', d, '--out', out, '--epochs', 1, '--bs', 32, '--skip-bad', '--no_report')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped 2 unreadable image(s)' in r.stderr
    m = json.loads((out/'metrics.json').read_text())
    assert m['skipped_images'] == 2 and m['n_train'] == 199           # 200 train images + notes.png, 2 left out

@pytest.mark.slow
def test_wrong_size_or_mode_is_converted_with_a_note(tmp_path, sample, capsys):
    d = _dataset(tmp_path, sample, _big_grey)
    out = tmp_path/'run'
    r = call_cli(capsys, 'fit', '--data', d, '--out', out, '--epochs', 1, '--bs', 32, '--no_report')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'note: 1 image(s) converted' in r.stderr and 'big-grey.png' in r.stderr and 'resized 64x64 to 32x32' in r.stderr

def test_output_directory_problems(tmp_path, sample, capsys):
    f = tmp_path/'a-file'; f.write_text('keep me')
    assert 'is not a folder' in one_error_line(call_cli(capsys, 'fit', '--data', sample, '--out', f), 2)
    assert f.read_text() == 'keep me'
    full = tmp_path/'full'; full.mkdir(); (full/'x.txt').write_text('keep me')
    assert 'is not empty (use --force' in one_error_line(call_cli(capsys, 'fit', '--data', sample, '--out', full), 2)
    ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o555)
    try:
        assert 'is not writable' in one_error_line(call_cli(capsys, 'fit', '--data', sample, '--out', ro/'run'), 2)
        assert not (ro/'run').exists()
    finally: ro.chmod(0o755)
    assert sorted(p.name for p in full.iterdir()) == ['x.txt']

def test_resume_bad_input(tmp_path, capsys):
    assert 'run directory not found' in one_error_line(call_cli(capsys, 'fit', '--resume', tmp_path/'nope'), 2)
    (tmp_path/'notarun').mkdir()
    assert 'no run.json' in one_error_line(call_cli(capsys, 'fit', '--resume', tmp_path/'notarun'), 2)

def test_interrupted_write_keeps_the_old_file(tmp_path):
    from cifar_adv.core import atomic_path, atomic_write_text
    f = tmp_path/'export.pkl'; atomic_write_text(f, 'complete')
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(f) as t: t.write_text('half'); raise KeyboardInterrupt
    assert f.read_text() == 'complete' and [p.name for p in tmp_path.iterdir()] == ['export.pkl']

def test_resumed_fit_labels_its_epochs(sample, tmp_path, capsys):
    "The skipped epochs of a resume take no time, which made fastprogress stop relabelling the bar: 'Epoch 6/9' all through epochs 8 and 9."
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner
    from cifar_adv.checkpoint import RunLog
    dls = get_dls(load_arrays(sample), bs=32, n_train=64, n_valid=32, num_workers=0)
    learn = get_learner(dls, 'advnet_s', path=tmp_path)
    learn.fit_one_cycle(9, 1e-3, start_epoch=7, cbs=RunLog(start_epoch=7))
    out = capsys.readouterr().out
    assert 'Epoch 8/9' in out and 'Epoch 9/9' in out and 'Epoch 6/9' not in out

@pytest.mark.slow
def test_fast_recipe_resumes_bit_for_bit(sample, tmp_path):
    "A `--recipe fast` run killed after its lookahead began (epoch 3: torch's optimiser state, the triangular schedule, the slow weights, the stem's frozen bias; each image's flip alternating by epoch) and resumed ends as the run never interrupted."
    args = ['fit', '--recipe', 'fast', '--batch_aug', 'translate-altflip', '--epochs', 6, '--bs', 32, '--seed', 3, '--no_report', '--data', sample]
    ref, out = tmp_path/'ref', tmp_path/'killed'
    assert run_cli(*args, '--out', ref).returncode == 0
    p = subprocess.Popen(cli_cmd(*args, '--out', out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0, timings = time.time(), out/'timings.csv'
    while not (timings.exists() and len(timings.read_text().splitlines()) > 4):     # 4 epochs logged
        assert p.poll() is None and time.time() - t0 < 300, 'fit ended before its fourth epoch was logged'
        time.sleep(0.005)
    p.kill(); p.wait()
    done = len((out/'metrics.csv').read_text().splitlines()) - 1
    assert 4 <= done < 6 and not (out/'export.pkl').exists()
    r = run_cli('fit', '--resume', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'metrics.csv').read_text() == (ref/'metrics.csv').read_text()
    assert (out/'schedule.csv').read_text() == (ref/'schedule.csv').read_text()
    assert same_weights(out/'model.safetensors', ref/'model.safetensors')
