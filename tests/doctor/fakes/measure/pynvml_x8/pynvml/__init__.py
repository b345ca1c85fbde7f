"""A fake pynvml (nvidia-ml-py): the calls setupkit's measurement child makes to read a GPU's PCIe link, with the
real names and return shapes. The link is the one of FAKE_PCIE (JSON: gen, width, max_gen, max_width), by default
a gen5 card that trained to 8 of its 16 lanes."""

import json
import os

LINK = {"gen": 5, "width": 8, "max_gen": 5, "max_width": 16, **json.loads(os.environ.get("FAKE_PCIE", "{}"))}


class NVMLError(Exception):
    pass


def nvmlInit():
    return None


def nvmlDeviceGetHandleByPciBusId(bus_id):
    return ("handle", bus_id)


def nvmlDeviceGetHandleByIndex(index):
    return ("handle", index)


def nvmlDeviceGetCurrPcieLinkGeneration(handle):
    return LINK["gen"]


def nvmlDeviceGetCurrPcieLinkWidth(handle):
    return LINK["width"]


def nvmlDeviceGetMaxPcieLinkGeneration(handle):
    return LINK["max_gen"]


def nvmlDeviceGetMaxPcieLinkWidth(handle):
    return LINK["max_width"]
