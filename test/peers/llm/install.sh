# Sourced by test/peers/install: defines install_llm (llama.cpp's llama-server and llama-cpp-python's server).
install_llm() {
  echo "peers: the model servers are not written yet" >&2
  return 1
}
