# Sourced by test/peers/install: defines install_llm, the two OpenAI-compatible model servers System 2's tests run
# against, both from llama-cpp-python's source package on PyPI (pinned by version and sha256):
# - llama.cpp's own C++ llama-server, built from the llama.cpp sources the package carries under vendor/llama.cpp
# - llama-cpp-python's server (python -m llama_cpp.server) in a venv, with gguf and numpy for the tests' model
#   writer (test/peers/llm/make_model.py)
# llama.cpp is compiled once: one cmake build of the vendored sources makes llama-server and the shared libraries
# (libllama, libggml*, libmtmd) with an $ORIGIN run path; the Python package is then installed with LLAMA_BUILD=OFF
# (its own cmake compiles nothing) and the same libraries are copied into its llama_cpp/lib, where it loads them.
# Everything lands in $CACHE/llm/: bin/ (llama-server and the libraries), venv/, and pins, the stamp a second run
# compares. No model is downloaded, ever: the tests write their own.
LLAMA_CPP_PYTHON_VERSION=0.3.36
LLAMA_CPP_PYTHON_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
LLM_PY_PINS=(gguf==0.19.0 numpy==2.4.6)

install_llm() {
  local dir="$CACHE/llm" pins sdist src began=$SECONDS
  pins="llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION ${LLM_PY_PINS[*]} $(sha256sum < "$HERE_DIR/llm/install.sh")"
  if [ -x "$dir/bin/llama-server" ] && [ -x "$dir/venv/bin/python" ] && [ "$(cat "$dir/pins" 2>/dev/null)" = "$pins" ]; then
    echo "peers: llama-server and llama-cpp-python[server] $LLAMA_CPP_PYTHON_VERSION already built"
    return
  fi
  command -v cmake >/dev/null || { echo "peers: cmake is needed to build llama.cpp (apt-get install cmake)" >&2; return 1; }
  command -v c++ >/dev/null || { echo "peers: a C++ compiler is needed to build llama.cpp (apt-get install g++)" >&2; return 1; }
  rm -f "$dir/pins"
  mkdir -p "$dir"
  sdist="$dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
  if ! echo "$LLAMA_CPP_PYTHON_SHA256  $sdist" | sha256sum --check --status 2>/dev/null; then
    echo "peers: downloading llama-cpp-python $LLAMA_CPP_PYTHON_VERSION's source package (76 MB) from PyPI"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      -d "$dir" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
    echo "$LLAMA_CPP_PYTHON_SHA256  $sdist" | sha256sum --check --status || {
      echo "peers: $sdist does not have the pinned sha256 $LLAMA_CPP_PYTHON_SHA256: delete it and run this again" >&2
      return 1
    }
  fi
  src="$dir/src"
  rm -rf "$src" && mkdir -p "$src" && tar -xzf "$sdist" -C "$src" --strip-components=1

  # The venv's pip install (network, one core) runs while cmake compiles; the libraries are copied in after both.
  (
    python3 -m venv --clear "$dir/venv" &&
      CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
        "llama-cpp-python[server] @ file://$sdist" "${LLM_PY_PINS[@]}"
  ) > "$dir/pip.log" 2>&1 &
  local pip_pid=$!

  echo "peers: compiling llama.cpp (vendored in llama-cpp-python $LLAMA_CPP_PYTHON_VERSION) for llama-server and" \
    "llama-cpp-python, once; about 10 min on 2 cores"
  # GGML_NATIVE=OFF: a binary for any x86-64 with AVX2, not this CPU alone (the cache may outlive the machine's CPU)
  # LLAMA_USE_PREBUILT_UI=OFF: without it the build downloads the web UI, which a test never opens
  # LLAMA_OPENSSL/CURL=OFF: the servers only ever load a local file
  cmake -S "$src/vendor/llama.cpp" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN' \
    -DGGML_NATIVE=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF > "$dir/cmake.log" 2>&1 || {
    echo "peers: configuring llama.cpp failed; $dir/cmake.log says why" >&2
    kill "$pip_pid" 2>/dev/null
    return 1
  }
  cmake --build "$dir/build" --target llama-server -j "$(nproc)" > "$dir/build.log" 2>&1 || {
    echo "peers: compiling llama.cpp failed; the end of $dir/build.log says why:" >&2
    tail -20 "$dir/build.log" >&2
    kill "$pip_pid" 2>/dev/null
    return 1
  }
  echo "peers: llama.cpp compiled ($(elapsed "$began"))"
  rm -rf "$dir/bin" && mkdir -p "$dir/bin"
  cp -a "$dir/build/bin/llama-server" "$dir"/build/bin/lib*.so* "$dir/bin/"

  wait "$pip_pid" || {
    echo "peers: installing llama-cpp-python[server] into $dir/venv failed; the end of $dir/pip.log says why:" >&2
    tail -20 "$dir/pip.log" >&2
    return 1
  }
  local lib
  lib="$("$dir/venv/bin/python" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("llama_cpp").origin), "lib"))')"
  mkdir -p "$lib"
  cp -a "$dir"/bin/lib*.so* "$lib/"
  # both must answer before the stamp is written
  "$dir/bin/llama-server" --version > "$dir/llama-server.version" 2>&1 || {
    echo "peers: $dir/bin/llama-server does not run:" >&2
    cat "$dir/llama-server.version" >&2
    return 1
  }
  "$dir/venv/bin/python" -c 'import llama_cpp, llama_cpp.server.app, gguf; llama_cpp.llama_backend_init()' || {
    echo "peers: llama-cpp-python in $dir/venv does not load its libraries (above)" >&2
    return 1
  }
  rm -rf "$dir/build" "$src"
  echo "$pins" > "$dir/pins"
  echo "peers: llama-server ($(grep -m1 version "$dir/llama-server.version")) and llama-cpp-python[server]" \
    "$LLAMA_CPP_PYTHON_VERSION built in $(elapsed "$began")"
}
