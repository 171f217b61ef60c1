import warnings
import numpy as np
import pytest
from cifar_adv.augment import make_aug, AlbumentationsTransform, mean_fill
from cifar_adv.core import CifarAdvError

MEAN = (0.4914, 0.4822, 0.4465)

@pytest.fixture(autouse=True)
def albumentations_arg_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message=r'Argument\(s\) .* are not valid')
        warnings.filterwarnings('error', category=DeprecationWarning, module='albumentations')
        yield

def test_recipe_builds_without_invalid_argument_warnings():
    aug = make_aug('seed', mean=MEAN)
    names = [type(t).__name__ for t in aug.transforms]
    assert names == ['Sequential', 'HorizontalFlip', 'Affine', 'CoarseDropout']

def test_old_1x_names_would_be_caught():
    import albumentations as albu
    with pytest.raises(UserWarning, match='not valid'):
        albu.CoarseDropout(max_holes=1, max_height=16, max_width=16, fill_value=0, p=1.0)

@pytest.mark.parametrize('seed', range(5))
def test_coarse_dropout_one_16x16_hole_of_the_mean(seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    fill = np.array(mean_fill(MEAN), np.uint8)
    img[(img == fill).all(-1)] = 0                       # no pixel has the fill colour to begin with
    aug = make_aug('none', mean=MEAN, dropout=1.0)
    aug.set_random_seed(seed)
    out = aug(image=img)['image']
    hole = (out == fill).all(-1)
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    assert hole.sum() == 256 and len(rows) == 16 and len(cols) == 16
    assert hole[rows[0]:rows[-1]+1, cols[0]:cols[-1]+1].all()
    np.testing.assert_array_equal(out[~hole], img[~hole])  # nothing else changed

def test_transform_is_train_only():
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    tfm = AlbumentationsTransform(make_aug('seed', mean=MEAN, crop=1.0, flip=1.0, affine=1.0, dropout=1.0))
    assert tfm.split_idx == 0
    out, y = tfm((img, 7), split_idx=0)
    assert y == 7 and out.shape == img.shape and not np.array_equal(out, img)
    same, _ = tfm((img, 7), split_idx=1)
    assert same is img or np.array_equal(same, img)

def test_pieces_switchable():
    assert make_aug('none', mean=MEAN) is None
    aug = make_aug('seed', mean=MEAN, affine=0, dropout=0)
    assert [type(t).__name__ for t in aug.transforms] == ['Sequential', 'HorizontalFlip']
    assert aug.transforms[1].p == 0.5
    assert make_aug('seed', mean=MEAN, flip=0.9).transforms[1].p == 0.9

@pytest.mark.parametrize('kw, msg', [(dict(preset='bogus'), 'unknown augmentation preset'),
                                     (dict(preset='seed', flip=1.5), 'between 0 and 1')])
def test_bad_aug_options(kw, msg):
    with pytest.raises(CifarAdvError, match=msg): make_aug(**kw)

def test_transform_pickles():
    import pickle
    tfm = AlbumentationsTransform(make_aug('seed', mean=MEAN))
    assert type(pickle.loads(pickle.dumps(tfm))).__name__ == 'AlbumentationsTransform'

def test_one_default_preset_everywhere():
    "`fit` (CLI and Python: `RECIPE`, which `fit_run` trains unless told), `lr_find`, `get_dls` and `make_aug` all default to DEFAULT_AUG, a preset that exists."
    import inspect
    from cifar_adv.augment import DEFAULT_AUG, AUG_PRESETS
    from cifar_adv.core import RECIPE
    from cifar_adv import cli, dls
    assert DEFAULT_AUG in AUG_PRESETS and RECIPE.aug == DEFAULT_AUG
    for f in (dls.get_dls, make_aug):
        sig = inspect.signature(getattr(f, '__wrapped__', f))
        assert sig.parameters['aug' if 'aug' in sig.parameters else 'preset'].default == DEFAULT_AUG, f.__name__
    for verb in (cli.fit, cli.lr_find): assert cli.verb_parser(verb, 'cifar-adv').get_default('aug') == DEFAULT_AUG, verb.__name__
