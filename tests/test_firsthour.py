"""What a newcomer meets in the first hour: `report` leaves committed runs as they are, refusals name their real cause
first, `fit` refuses a bad number before torch loads, and `predict` says (and lets one choose) how a photo is made square."""
import hashlib, json, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from conftest import ROOT, SAMPLE
from cifar_adv.cli import main
from cifar_adv.core import CifarAdvError

COMMITTED = ROOT/'results'/'advnet_s-15ep'            # a small committed run (95k params)

def _digests(d:Path) -> dict:
    "Every file under `d` (relative path) with the sha256 of its bytes."
    return {str(f.relative_to(d)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.rglob('*')) if f.is_file()}

def _err_lines(capsys) -> list: return capsys.readouterr().err.strip().splitlines()

# ---- 1. report never changes a committed run, nor any run's metrics.json ----

def _committed_copy(tmp_path) -> Path:
    "A copy of the committed run, committed to a git repository of its own (`results/NAME`, as in this repo)."
    import subprocess
    run = Path(shutil.copytree(COMMITTED, tmp_path/'repo'/'results'/COMMITTED.name))
    subprocess.run(['git', 'init', '-q', str(tmp_path/'repo')], check=True)
    subprocess.run(['git', 'add', '.'], cwd=tmp_path/'repo', check=True)
    return run

def test_report_dir_rule(tmp_path, monkeypatch):
    "Where a report goes: RUNDIR/report/ for one's own run, runs/NAME-report/ for a committed or read-only one, --out if given, never inside a committed run."
    from cifar_adv.report import report_dir, committed_run
    monkeypatch.chdir(tmp_path)
    kept, own = _committed_copy(tmp_path), Path(shutil.copytree(COMMITTED, tmp_path/'runs'/'mine'))
    assert committed_run(kept) and not committed_run(own)
    assert report_dir(kept) == Path('runs')/'advnet_s-15ep-report'
    assert report_dir(own) == own/'report'
    assert report_dir(kept, tmp_path/'elsewhere') == tmp_path/'elsewhere' and report_dir(own, 'x') == Path('x')
    with pytest.raises(CifarAdvError, match='inside the committed run'): report_dir(kept, kept/'report')
    (tmp_path/'afile').write_text('x')
    with pytest.raises(CifarAdvError, match='exists and is not a folder'): report_dir(own, tmp_path/'afile')
    ro = Path(shutil.copytree(COMMITTED, tmp_path/'ro'/'run')); ro.chmod(0o555)
    try: assert committed_run(ro) and report_dir(ro) == Path('runs')/'run-report'     # a read-only run is left alone too
    finally: ro.chmod(0o755)
    assert not list(kept.rglob('report*')) and not (tmp_path/'runs'/'advnet_s-15ep-report').exists()   # deciding writes nothing

@pytest.mark.slow
def test_report_of_a_committed_run_leaves_it_byte_identical(tmp_path, monkeypatch, capsys):
    "`cifar-adv report results/RUN`: the report goes to runs/RUN-report/, the run's files (metrics.json too) keep their bytes; `--out` inside the run is refused before anything is written."
    monkeypatch.chdir(tmp_path)
    kept = _committed_copy(tmp_path)
    before = _digests(kept)
    assert main(['report', str(kept), '--data', str(SAMPLE), '--device', 'cpu', '--n', '2']) == 0
    assert _digests(kept) == before
    out = tmp_path/'runs'/'advnet_s-15ep-report'
    assert f"report in {Path('runs')/'advnet_s-15ep-report'}" in capsys.readouterr().out
    for f in ('report.html', 'report.md', 'per_class.csv', 'confusion_matrix.png', 'report.json'): assert (out/f).is_file(), f
    r = json.loads((out/'report.json').read_text())
    assert r['n_images'] == 100 and len(r['per_class']) == 10 and r['run'] == str(kept)
    assert main(['report', str(kept), '--out', str(kept/'report'), '--data', str(SAMPLE)]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and 'inside the committed run' in lines[0] and lines[0].startswith('cifar-adv: error: '), lines
    assert _digests(kept) == before

@pytest.mark.slow
def test_report_of_ones_own_run_keeps_its_metrics_json(tmp_path, capsys):
    "A run of one's own gets RUNDIR/report/ as `fit` leaves it, but `report` does not rewrite its metrics.json (that is fit's record)."
    own = Path(shutil.copytree(COMMITTED, tmp_path/'runs'/'mine'))
    before = _digests(own)
    assert main(['report', str(own), '--data', str(SAMPLE), '--device', 'cpu', '--n', '2']) == 0
    after = _digests(own)
    assert {k: v for k, v in after.items() if not k.startswith('report/')} == before
    assert 'report/report.html' in after and 'report/report.json' in after
    assert f"report in {own/'report'}" in capsys.readouterr().out

# ---- 2. a refusal names its real cause first ----

@pytest.mark.parametrize('verb, extra', [
    ('evaluate', []),                                             # used to say "--data is required"
    ('predict', [str(next((SAMPLE/'test'/'cat').iterdir()))]),
    ('export', []),
    pytest.param('report', [], marks=pytest.mark.slow),           # imports fastai before its checks
])
def test_a_folder_without_a_model_is_named_first(tmp_path, capsys, verb, extra):
    "A folder with no model in it: one line on stderr naming that, exit 2, no mention of --data, nothing written."
    assert main([verb, str(tmp_path), *extra]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith('cifar-adv: error: '), lines
    assert f'{tmp_path} ' in lines[0] and 'no model.safetensors or export.pkl' in lines[0] and '--data' not in lines[0], lines
    assert not any(tmp_path.iterdir())

def test_evaluate_a_missing_model_says_so(tmp_path, capsys):
    assert main(['evaluate', str(tmp_path/'nope')]) == 2
    assert _err_lines(capsys) == [f"cifar-adv: error: model not found: {tmp_path/'nope'}"]

def test_evaluate_asks_for_data_only_when_the_model_is_there(tmp_path, capsys):
    "A loadable model with no metrics.json beside it: then, and only then, --data is what is missing."
    for f in ('model.safetensors', 'model.json'): shutil.copy(COMMITTED/f, tmp_path/f)
    assert main(['evaluate', str(tmp_path), '--device', 'cpu']) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and '--data is required' in lines[0], lines

# ---- 3. fit and lr-find refuse a bad number before torch and fastai load ----

@pytest.mark.parametrize('args, msg', [
    (['fit', '--epochs', '0'], 'epochs must be > 0, got 0'),
    (['fit', '--lr', 'fast'], "lr must be a number > 0 or 'find'"),
    (['fit', '--p_flip', '2'], 'augmentation probability p_flip=2.0 must be between 0 and 1'),
    (['fit', '--mixup', '0.2', '--cutmix', '1'], 'choose one of --mixup and --cutmix'),
    (['fit', '--nproc', '2', '--bs', '0'], 'batch size must be > 0'),       # before torchrun starts, too
    (['lr-find', '--bs', '0'], 'batch size must be > 0'),
    (['lr-find', '--ls', '1'], 'label smoothing must be in [0, 1)'),
])
def test_fit_refuses_a_bad_number_without_importing_torch(tmp_path, args, msg):
    "In a fresh process: exit 2, one line naming the option, and neither torch nor fastai imported (which takes 10 s or more here)."
    code = ("import sys, time; from cifar_adv.cli import main; t = time.time(); rc = main(sys.argv[1:]); "
            "print('RESULT', rc, 'torch' in sys.modules, 'fastai' in sys.modules, round(time.time() - t, 2))")
    r = subprocess.run([sys.executable, '-c', code, *args, '--out', str(tmp_path/'run')], capture_output=True, text=True, timeout=120)
    rc, torch_in, fastai_in, secs = next((l.split()[1:] for l in r.stdout.splitlines() if l.startswith('RESULT ')), ['?'] * 4)
    assert (rc, torch_in, fastai_in) == ('2', 'False', 'False'), r.stdout + r.stderr      # the time: bench-free, but printed
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cifar-adv: error: ') and msg in lines[0], r.stderr
    assert not (tmp_path/'run').exists()

@pytest.mark.parametrize('args, msg', [
    (['--arch', 'resnet9000'], 'unknown arch'),
    (['--act', 'tanhh'], 'unknown activation'),
    (['--arch', 'seed004', '--act', 'silu'], "arch 'seed004' takes no option 'act'"),
    (['--nproc', '2', '--arch', 'nope'], 'unknown arch'),                    # before torchrun starts
])
def test_fit_refuses_a_bad_arch_before_fastai_loads(tmp_path, args, msg):
    "The arch and its options are checked with torch alone (the registry builds the net), before fastai, the data and torchrun."
    code = ("import sys; from cifar_adv.cli import main; rc = main(sys.argv[1:]); "
            "print('RESULT', rc, 'fastai' in sys.modules, 'albumentations' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code, 'fit', *args, '--data', str(SAMPLE), '--out', str(tmp_path/'run')],
                       capture_output=True, text=True, timeout=120)
    assert next((l.split()[1:] for l in r.stdout.splitlines() if l.startswith('RESULT ')), None) == ['2', 'False', 'False'], r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cifar-adv: error: ') and msg in lines[0], r.stderr
    assert not (tmp_path/'run').exists()

# ---- 4. a non-square photo: squashed (the default) or cropped, and the note says which ----

def _wide(w:int=64, h:int=48) -> np.ndarray:
    "A non-square RGB image with distinct content at its left and right edges."
    a = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    a[:, :8] = (255, 0, 0); a[:, -8:] = (0, 0, 255)
    return a

def _bicubic(a:np.ndarray, size:int=32) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0))

def test_read_image_squash_or_crop():
    from cifar_adv.image import read_image
    a = _wide()
    sq, note_sq = read_image(a)
    cr, note_cr = read_image(a, resize='crop')
    assert note_sq == 'squashed 64x48 to 32x32' and note_cr == 'cropped 64x48 to the centre 48x48, resized to 32x32'
    assert not np.array_equal(sq, cr)
    np.testing.assert_array_equal(sq, _bicubic(a))                 # squash: the whole image, resized
    np.testing.assert_array_equal(cr, _bicubic(a[:, 8:56]))        # crop: the centre square, then the same resize
    tall = np.ascontiguousarray(a.transpose(1, 0, 2))              # 48 wide, 64 high: the centre rows
    np.testing.assert_array_equal(read_image(tall, resize='crop')[0], _bicubic(tall[8:56]))
    sq32, note = read_image(a[:32], resize='crop')                 # 64x32: the crop is already 32x32
    assert note == 'cropped 64x32 to the centre 32x32' and np.array_equal(sq32, a[:32, 16:48])
    square = a[:, :48]                                             # square: both ways the same, a plain resize
    assert read_image(square)[1] == read_image(square, resize='crop')[1] == 'resized 48x48 to 32x32'
    np.testing.assert_array_equal(read_image(square)[0], read_image(square, resize='crop')[0])
    with pytest.raises(CifarAdvError, match="unknown resize 'fit'"): read_image(a, resize='fit')

def test_predict_resize_option(tmp_path, capsys):
    "`predict --resize crop` crops, the default squashes, the JSON notes say which; the Predictor does the same; a bad value is one line."
    from cifar_adv.inference import Predictor
    img = tmp_path/'wide.png'; Image.fromarray(_wide()).save(img)
    model = str(COMMITTED/'model.safetensors')
    notes = {}
    for how in ('squash', 'crop'):
        assert main(['predict', model, str(img), '--json', '--device', 'cpu', '--resize', how]) == 0
        p = json.loads(capsys.readouterr().out)['predictions'][0]
        notes[how] = p['note']
        pred = Predictor.load(model, resize=how)
        assert pred.predict([Image.open(img)])[0]['prob'] == pytest.approx(p['prob'], abs=1e-6)
    assert notes == {'squash': 'squashed 64x48 to 32x32', 'crop': 'cropped 64x48 to the centre 48x48, resized to 32x32'}
    assert main(['predict', model, str(img), '--resize', 'fit']) == 2
    assert _err_lines(capsys) == ["cifar-adv: error: unknown resize 'fit': choose squash (the whole image, stretched) or crop (its centre square)"]
