#!/usr/bin/env bash
# The Ansible collection's checks (`.ci/run` runs this after the Rust tests):
#   1. a virtual environment with a pinned ansible-core, from the package registry;
#   2. `ansible-galaxy collection build` of ansible/;
#   3. the fleet test: ansible-playbook against simulated Macs (tests/it/ansible.rs);
#   4. the example inventory: every Mac's server.toml valid, the playbooks' syntax;
#   5. `ansible-test sanity` of the built collection.
# What it makes is under target/ansible (kept between runs: the venvs are reused), except the
# installed collection (a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."

main() {

ANSIBLE_CORE_VERSION=2.18.19
work="$PWD/target/ansible"
venv="$work/venv"
mkdir -p "$work"

echo "== ansible: ansible-core $ANSIBLE_CORE_VERSION in $venv"
if [[ ! -x "$venv/bin/ansible-playbook" ]] || [[ "$("$venv/bin/python" -c 'import ansible; print(ansible.__version__)')" != "$ANSIBLE_CORE_VERSION" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION"
fi
export PATH="$venv/bin:$PATH"

echo "== ansible: collection build"
rm -rf "$work/build"
ansible-galaxy collection build ansible --output-path "$work/build"
# Installed outside the repository: inside it, ansible-test would list the files with git, and
# target/ is ignored there.
collections="$(mktemp -d)"
trap 'rm -rf "$collections"' EXIT
ANSIBLE_COLLECTIONS_PATH="$collections" \
  ansible-galaxy collection install "$work/build"/ssollama-server-*.tar.gz -p "$collections"

echo "== ansible: playbooks against simulated Macs"
ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook" cargo test --locked --test it ansible:: -- --ignored

echo "== ansible: the example inventory's server.toml files"
examples="$collections/examples-out"
mkdir -p "$examples"
EXAMPLES_OUT="$examples" SSOLLAMA="$PWD/target/debug/ssollama" \
  ansible-playbook -i ansible/examples/inventory.yml tests/ansible/examples.yml
ANSIBLE_COLLECTIONS_PATH="$collections" ansible-playbook --syntax-check \
  -i ansible/examples/inventory.yml ssollama.server.site ssollama.server.drift

echo "== ansible: ansible-test sanity"
# ansible-test runs pip with an environment of its own (PATH, HOME, LC_ALL only), so the pip
# settings of this environment go into the pip.conf of a HOME of its own; and it fetches its
# pip bootstrap script from a file server of the Ansible project, not from the registry, so
# that HOME's cache holds a stand-in that installs the same pip from the registry.
home="$work/home"
mkdir -p "$home/.config/pip" "$home/.ansible/test/cache"
pip config list | python3 -c '
import ast, sys
seen, lines = set(), ["[global]"]
for line in sys.stdin:
    key, _, value = line.rstrip("\n").partition("=")
    name = key.split(".", 1)[-1]
    if name not in seen:
        seen.add(name)
        lines.append("%s = %s" % (name, ast.literal_eval(value)))
print("\n".join(lines))
' > "$home/.config/pip/pip.conf"
chmod 600 "$home/.config/pip/pip.conf"
pip_version="$("$venv/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
print(get_venv_packages(NativePythonConfig(version="%d.%d" % sys.version_info[:2]))["pip"])
PY
)"
cp tests/ansible/get-pip.py "$home/.ansible/test/cache/get_pip_${pip_version//./_}.py"
python="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
(cd "$collections/ansible_collections/ssollama/server" &&
  HOME="$home" ansible-test sanity --python "$python" --requirements)
}

main "$@"
