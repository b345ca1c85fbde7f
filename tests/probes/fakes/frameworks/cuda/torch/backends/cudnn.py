def version():
    return 91002
