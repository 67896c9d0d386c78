# Sourced by the st2gguf interop tests, from the project root, after SUITE=
# (the name on a SKIP line): a scratch folder $T, python3 $PY with numpy and
# llama.cpp's gguf-py ($GGUFPY; tests/interop/qp_gguf.py beside it), or one
# SKIP line and exit 0.
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
GGUFPY=tests/oracles/llama-src/gguf-py
if ! $PY -c 'import numpy' 2>/dev/null || [ ! -d "$GGUFPY" ]; then
	echo "SKIP $SUITE: numpy or gguf-py missing (scripts/deps.sh)"
	exit 0
fi
PYPATH=$GGUFPY:tests/interop

# llama_runs LABEL FILE: PASS when libllama loads FILE and generates a few
# tokens, FAIL with its message otherwise; nothing without the driver.
llama_runs() {
	[ -x "$QU_BIN/tests/interop/llama_run" ] || return 0
	if echo "1 2 3" | "$QU_BIN/tests/interop/llama_run" generate "$2" 4 >"$T/gen" 2>&1; then
		echo "PASS $1: llama.cpp loads and runs it"
	else
		echo "FAIL $1: llama.cpp: $(head -c 300 "$T/gen")"
	fi
}
