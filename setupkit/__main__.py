from setupkit.cli import main

main()
