# Sourced by scripts/serve and scripts/test: a .venv with the given requirements file installed.
# Reinstalls only when the requirements file changes.
ensure_venv() {
  local reqs="$1" py="${PYTHON:-python3}" stamp
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  stamp=".venv/.installed-$(basename "$reqs")"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" <(cat requirements*.txt); then
    .venv/bin/python -m pip install --disable-pip-version-check -q -r "$reqs"
    cat requirements*.txt > "$stamp"
  fi
}
