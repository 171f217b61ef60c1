import os, shutil, tarfile
import numpy as np
import pytest
from PIL import Image
from cifar_adv.core import CifarAdvError
from cifar_adv.source import resolve_data
from cifar_adv.data import load_arrays
from cifar_adv.image import load_rgb
from cifar_adv.dls import get_dls, subset_idxs

def copy_sample(sample, dest):
    shutil.copytree(sample, dest)
    return dest

def test_sample_arrays(sample):
    a = load_arrays(sample)
    assert a.classes == sorted(os.listdir(sample/'train'))
    assert a.train_x.shape == (200, 32, 32, 3) and a.valid_x.shape == (100, 32, 32, 3)
    assert a.train_x.dtype == np.uint8
    assert a.counts()['train'] == {c: 20 for c in a.classes}
    # pixels and labels are those of the files
    for i in (0, 57, 199):
        f = a.path/a.train_files[i]
        np.testing.assert_array_equal(a.train_x[i], np.asarray(Image.open(f).convert('RGB')))
        assert a.classes[a.train_y[i]] == f.parent.name

def test_stats_from_training_images(sample):
    a = load_arrays(sample)
    x = a.train_x.reshape(-1, 3).astype(np.float64) / 255
    np.testing.assert_allclose(a.mean, x.mean(0), atol=1e-9)
    np.testing.assert_allclose(a.std, x.std(0), atol=1e-9)

def test_archive_matches_folder(sample, tmp_path, monkeypatch):
    monkeypatch.setenv('CIFAR_ADV_CACHE', str(tmp_path/'cache'))
    tgz = tmp_path/'s.tgz'
    with tarfile.open(tgz, 'w:gz') as tf: tf.add(sample, arcname='cifar10')
    a, b = load_arrays(tgz), load_arrays(sample)
    np.testing.assert_array_equal(a.train_x, b.train_x)
    np.testing.assert_array_equal(a.valid_y, b.valid_y)
    extracted = list((tmp_path/'cache'/'extracted').iterdir())
    assert len(extracted) == 1 and not extracted[0].name.startswith('.')
    assert load_arrays(tgz).path == a.path                 # extracted once, reused

def test_concurrent_extraction_uses_the_winners_copy(sample, tmp_path, monkeypatch):
    "Two runs starting together on the same archive: the one that finishes extracting second uses the first one's copy."
    import cifar_adv.source as source
    monkeypatch.setenv('CIFAR_ADV_CACHE', str(tmp_path/'cache'))
    tgz = tmp_path/'s.tgz'
    with tarfile.open(tgz, 'w:gz') as tf: tf.add(sample, arcname='cifar10')
    replace = os.replace
    def other_process_wins(src, dst):          # another process renames its copy into place just before this one
        shutil.copytree(src, dst)
        replace(src, dst)                      # raises: the destination is now a non-empty directory
    monkeypatch.setattr(source.os, 'replace', other_process_wins)
    root = source.extract_archive(tgz)
    assert (root/'train').is_dir() and (root/'test').is_dir()
    assert [p.name for p in (tmp_path/'cache'/'extracted').iterdir()] == [root.parent.name]     # no temporary leftovers

def test_extraction_that_cannot_be_renamed_fails_cleanly(sample, tmp_path, monkeypatch):
    "A rename that fails for any other reason (full disk, permissions) is a one-line error and leaves nothing behind."
    import errno
    import cifar_adv.source as source
    monkeypatch.setenv('CIFAR_ADV_CACHE', str(tmp_path/'cache'))
    tgz = tmp_path/'s.tgz'
    with tarfile.open(tgz, 'w:gz') as tf: tf.add(sample, arcname='cifar10')
    def full_disk(src, dst): raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(source.os, 'replace', full_disk)
    with pytest.raises(CifarAdvError, match='cannot write the extracted dataset'): source.extract_archive(tgz)
    assert list((tmp_path/'cache'/'extracted').iterdir()) == []

def test_env_var_used_when_no_path(sample, monkeypatch):
    monkeypatch.setenv('CIFAR_ADV_DATA', str(sample))
    assert resolve_data() == sample

def test_cache_invalidated_when_data_changes(sample, tmp_path):
    d = copy_sample(sample, tmp_path/'ds')
    a = load_arrays(d)
    f = d/a.train_files[0]
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(f)
    b = load_arrays(d)
    assert b.train_x[0].sum() == 0 and a.train_x[0].sum() > 0

@pytest.mark.parametrize('breakage, message', [
    ('missing', 'data path not found'),
    ('no_test', 'missing test/'),
    ('empty_class', 'has no images'),
    ('class_mismatch', 'classes differ between train/ and test/'),
    ('bad_image', 'unreadable image'),
    ('text_file', 'not a dataset'),
    ('corrupt_tgz', 'corrupt archive'),
])
def test_bad_data_one_line_errors(sample, tmp_path, breakage, message):
    d = copy_sample(sample, tmp_path/'ds')
    target = d
    if breakage == 'missing': target = tmp_path/'nowhere'
    elif breakage == 'no_test': shutil.rmtree(d/'test')
    elif breakage == 'empty_class':
        for f in (d/'train'/'cat').iterdir(): f.unlink()
    elif breakage == 'class_mismatch': (d/'test'/'cat').rename(d/'test'/'kitten')
    elif breakage == 'bad_image':
        f = sorted((d/'train'/'dog').iterdir())[3]
        f.write_bytes(f.read_bytes()[:60])          # truncated PNG
    elif breakage == 'text_file':
        target = tmp_path/'notes.txt'; target.write_text('hello')
    elif breakage == 'corrupt_tgz':
        target = tmp_path/'broken.tgz'; target.write_bytes(b'\x1f\x8b' + os.urandom(300))
    with pytest.raises(CifarAdvError) as e: load_arrays(target)
    msg = str(e.value)
    assert message in msg and '\n' not in msg
    if breakage == 'bad_image': assert 'dog' in msg and '.png' in msg   # names the file

def test_load_rgb_modes():
    for mode in ('L', 'RGBA', 'P', 'I;16'):
        im = Image.new(mode, (64, 48))
        assert load_rgb(im).shape == (32, 32, 3)

def test_subset_is_balanced():
    y = np.repeat(np.arange(10), 100)
    idx = subset_idxs(y, 300, seed=1)
    assert len(idx) == 300 and (np.bincount(y[idx]) == 30).all()
    np.testing.assert_array_equal(idx, subset_idxs(y, 300, seed=1))

def test_valid_batches_are_the_raw_pixels(sample):
    import torch
    a = load_arrays(sample)
    dls = get_dls(a, bs=50, num_workers=0)
    xb, yb = dls.valid.one_batch()
    mean, std = torch.tensor(a.mean)[:, None, None], torch.tensor(a.std)[:, None, None]
    pixels = ((xb.cpu() * std + mean) * 255).round().to(torch.uint8)   # undo Normalize and IntToFloatTensor
    raw = torch.from_numpy(a.valid_x[:50]).permute(0, 3, 1, 2)
    assert torch.equal(pixels.as_subclass(torch.Tensor), raw)
    assert [dls.vocab[i] for i in yb.tolist()] == [a.classes[i] for i in a.valid_y[:50]]

def _tree(d):
    "Every path under `d` with its mode, size and modification time."
    return {str(p.relative_to(d)): (p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns) for p in d.rglob('*')}

def test_read_only_data_left_untouched(sample, tmp_path, monkeypatch):
    monkeypatch.setenv('CIFAR_ADV_CACHE', str(tmp_path/'cache'))
    d = shutil.copytree(sample, tmp_path/'ro', ignore=shutil.ignore_patterns('.cifar_adv'))
    for p in [*d.rglob('*'), d]: p.chmod(0o555 if p.is_dir() else 0o444)      # read-only, as a shared mount is
    try:
        before = _tree(d)
        a = load_arrays(d)
        assert _tree(d) == before and not (d/'.cifar_adv').exists()            # nothing written there
        assert a.train_x.shape == (200, 32, 32, 3)
        assert list((tmp_path/'cache').rglob('meta-*.json'))                     # cached under CIFAR_ADV_CACHE instead
    finally:
        for p in [d, *d.rglob('*')]: p.chmod(0o755 if p.is_dir() else 0o644)

def _files(d) -> dict:
    "Every file under `d`: its bytes by relative path."
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}

def test_committed_sample_is_the_shared_one(sample):
    "The committed sample is the shared cifar10_sample, file for file, byte for byte."
    from conftest import SHARED_SAMPLE
    if not SHARED_SAMPLE.is_dir(): pytest.skip(f'no shared sample to compare with ({SHARED_SAMPLE})')
    images = lambda d: {k: v for k, v in _files(d).items() if not k.startswith('.')}     # not the decoded-array cache
    assert len(images(sample)) == 301 and images(sample) == images(SHARED_SAMPLE)

def test_writable_data_cached_next_to_it(sample, tmp_path):
    d = shutil.copytree(sample, tmp_path/'ds')
    for p in [d, *d.rglob('*')]: p.chmod(0o755 if p.is_dir() else 0o644)
    load_arrays(d)
    assert sorted(f.name for f in (d/'.cifar_adv').iterdir())[0].startswith('meta-')

def test_lean_batches_equal_fastai_per_item_path(sample):
    "ArrayDL (the training loop's DataLoader) gives exactly fastai's per-item batches: same images, same augmentation draws, same labels."
    import torch
    from fastai.data.core import TfmdDL
    from cifar_adv.augment import seed_rngs
    from cifar_adv.dls import ArrayDL
    dls = get_dls(load_arrays(sample), bs=32, aug='seed', device='cpu')
    lean = dls.train.new(shuffle=False, drop_last=False)
    plain = TfmdDL.new(dls.train, cls=TfmdDL, shuffle=False, drop_last=False)
    assert isinstance(lean, ArrayDL) and type(plain) is TfmdDL
    tfm = lean.aug
    seed_rngs(tfm.aug, 7); lb = list(lean)
    seed_rngs(tfm.aug, 7); pb = list(plain)
    assert len(lb) == len(pb) == 7
    for (lx, ly), (px, py) in zip(lb, pb):
        assert type(lx) is type(px) and type(ly) is type(py)
        assert torch.equal(lx, px) and torch.equal(ly, py)
    assert lb[0][0].is_contiguous(memory_format=torch.channels_last)
    seed_rngs(tfm.aug, 8)
    assert not torch.equal(next(iter(lean))[0], lb[0][0])          # the augmentation really draws
