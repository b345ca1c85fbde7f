# A torch whose CUDA libraries cannot load, as when its nvidia-cudnn wheel is missing.
raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")
