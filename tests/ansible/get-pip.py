"""Stand-in for ansible-test's pip bootstrap script (see run.sh): ensurepip, then the pip
version ansible-test asks for (and its other arguments) from the package registry."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
# ensurepip points PIP_CONFIG_FILE at os.devnull: the pip.conf of HOME must apply again.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
