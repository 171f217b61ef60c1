"Where the benchmark scripts find things: the shared folder beside the repo, the real CIFAR-10 archive, the `cifar-adv` command."
import os, sys
from pathlib import Path

# ../shared beside the repo, as CI and this machine lay it out; $CIFAR_ADV_SHARED elsewhere (the tests read the same variable)
SHARED = Path(os.environ.get('CIFAR_ADV_SHARED', Path(__file__).resolve().parents[2]/'shared'))
_TGZ = SHARED/'data'/'cifar10.tgz'
# the shared archive, relative so recorded commands read as a user types them; without it, $CIFAR_ADV_DATA when set
DATA = os.environ['CIFAR_ADV_DATA'] if os.environ.get('CIFAR_ADV_DATA') and not _TGZ.exists() else os.path.relpath(_TGZ)
CLI = str(Path(sys.executable).parent/'cifar-adv')                # the console script of the Python running the benchmark
