"Where the benchmark scripts find things: the shared folder beside the repo, the real CIFAR-10 archive, the `cifar-adv` command."
import os, sys
from pathlib import Path

# ../shared beside the repo, as CI and this machine lay it out; $CIFAR_ADV_SHARED elsewhere (the tests read the same variable)
SHARED = Path(os.environ.get('CIFAR_ADV_SHARED', Path(__file__).resolve().parents[2]/'shared'))
DATA = os.path.relpath(SHARED/'data'/'cifar10.tgz')               # relative, so recorded commands read as a user types them
CLI = str(Path(sys.executable).parent/'cifar-adv')                # the console script of the Python running the benchmark
