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
