def version():
    return (2, 27, 7)
