raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
