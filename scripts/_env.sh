# Shared by scripts/run and scripts/test: make (or refresh) the project's virtual environment.
# Usage: . scripts/_env.sh; ensure_venv EXTRAS   (EXTRAS like "gui" or "gui,test")
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${DESKLINE_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

# Debian packages: install the ones missing (one apt-get update, only when something is missing).
apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "warning: not a Debian system; please install: ${missing[*]}" >&2
    return 0
  fi
  echo "Installing system packages: ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  local extras=$1
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Deskline needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_ensure python3-venv
  fi
  local stamp="$VENV/.deskline-stamp"
  local want have_extras have_hash hash extra ok=1
  hash=$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
  want="$extras $hash"
  # An environment made with more extras (scripts/test's gui,test) serves scripts/run's gui as it is.
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && read -r have_extras have_hash <"$stamp" \
      && [ "$have_hash" = "$hash" ]; then
    ok=0
    for extra in ${extras//,/ }; do
      case ",$have_extras," in *,"$extra",*) ;; *) ok=1 ;; esac
    done
    [ $ok = 0 ] && want="$have_extras $hash"
  fi
  if [ $ok != 0 ]; then
    echo "Preparing the environment in $VENV ..." >&2
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
    echo "$want" > "$stamp"
  fi
  case ",$extras," in *,gui,*) compile_translations ;; esac
}

# The app's translations: compile every .ts into its .qm (gitignored) when a source is newer than its
# compiled file. Needs the gui extra (Qt's lrelease). Without .qm files the app compiles them into the
# user's cache on first start, so a failure here is only a warning.
compile_translations() {
  local ts
  for ts in "$ROOT"/resources/translations/*/*.ts; do
    [ -e "$ts" ] || continue
    if ! [ "${ts%.ts}.qm" -nt "$ts" ]; then
      "$VENV/bin/python" -m desktop.ui.i18n compile || echo "warning: could not compile the translations" >&2
      return 0
    fi
  done
}
