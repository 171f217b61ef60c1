import pytest
from cifar_adv.core import atomic_path, atomic_write_text, check, CifarAdvError, RunFailed

def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    f = tmp_path/'a.txt'
    atomic_write_text(f, 'complete')
    with pytest.raises(RunFailed, match=r'could not write .*a.txt: .*No space left on device \(the previous file is unchanged\)') as e:
        with atomic_path(f) as tmp:
            tmp.write_text('half')
            raise OSError(28, 'No space left on device')
    assert e.value.exit_code == 1 and isinstance(e.value.__cause__, OSError)
    assert f.read_text() == 'complete'
    assert [p.name for p in tmp_path.iterdir()] == ['a.txt']
    assert f.stat().st_mode & 0o044, "the finished file keeps the usual permissions, not mkstemp's 0600"

def test_check_raises_user_error():
    with pytest.raises(CifarAdvError, match='bad thing'): check(False, 'bad thing')
    assert CifarAdvError.exit_code == 2

def test_atomic_path_gives_the_usual_permissions_whatever_the_writer_does(tmp_path):
    "A writer may replace the temporary file with one of its own (safetensors does, with mode 0600): the result still gets 0666 & ~umask."
    import os
    umask = os.umask(0o022); os.umask(umask)
    f = tmp_path/'w.bin'
    with atomic_path(f) as tmp:
        other = tmp.with_name('other'); other.write_bytes(b'x'); other.chmod(0o600)
        os.replace(other, tmp)
    assert f.stat().st_mode & 0o777 == 0o666 & ~umask
    from safetensors.torch import save_file
    import torch
    with atomic_path(tmp_path/'m.safetensors') as tmp: save_file({'w': torch.zeros(2)}, str(tmp))
    assert (tmp_path/'m.safetensors').stat().st_mode & 0o777 == 0o666 & ~umask
