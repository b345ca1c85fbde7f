"""`setupkit smoke-test`: train the CIFAR-10 tutorial model and measure it.

dataset (official files, Keras cache, download or synthetic) -> input pipeline (tf.data, or numpy for the
JAX and PyTorch backends) -> Keras model (standalone_bench.py) -> train / evaluate -> result (rich | JSON).
Nothing here imports a framework at module import: the backend is chosen first (choice.py: --backend, else the
first of TensorFlow, JAX and PyTorch that package metadata lists), then set through the environment.
"""
