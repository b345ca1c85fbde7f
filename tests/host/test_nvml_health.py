"""The NVML child's health queries (PCIe link, ECC, retired pages, remapped rows, clocks event reasons, power
limits, persistence, MIG) against a fake ``pynvml`` that behaves as nvidia-ml-py's does: the same function
names, the same return shapes (lists for the mode pairs, a 4-tuple for the remapped rows, milliwatts), and an
``NVMLError`` whose ``__new__`` hands back the subclass of the return code (``NVMLError_NotSupported`` for a
feature the card lacks, ``NVMLError_FunctionNotFound`` for a function the driver's library lacks). No GPU is
needed: the fake is asked in this process through the child's own ``query_nvml``."""

from __future__ import annotations

import json
import sys
import types

import pytest

from setupkit.host import nvml

NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_FUNCTION_NOT_FOUND = 13


def fake_pynvml(card: dict, missing: tuple[str, ...] = ()) -> types.ModuleType:
    """A pynvml module for one GPU described by ``card`` ({function name: value, or an error code to raise});
    ``missing``: functions this (old) pynvml does not have at all."""
    module = types.ModuleType("pynvml")

    class NVMLError(Exception):
        _classes: dict[int, type] = {}

        def __new__(cls, value):
            return Exception.__new__(NVMLError._classes.get(value, cls))

        def __init__(self, value):
            self.value = value

        def __str__(self):
            return {NVML_ERROR_NOT_SUPPORTED: "Not Supported",
                    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found"}.get(self.value, "Unknown Error")

    for code, name in ((NVML_ERROR_NOT_SUPPORTED, "NVMLError_NotSupported"),
                       (NVML_ERROR_FUNCTION_NOT_FOUND, "NVMLError_FunctionNotFound")):
        subclass = type(name, (NVMLError,), {})
        NVMLError._classes[code] = subclass
        setattr(module, name, subclass)
    module.NVMLError = NVMLError
    module.NVML_TEMPERATURE_GPU = 0
    module.NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    module.NVML_VOLATILE_ECC, module.NVML_AGGREGATE_ECC = 0, 1

    def answer(name):
        def call(*args):
            value = card[name]
            if isinstance(value, Raise):
                raise NVMLError(value.code)
            return value(*args) if callable(value) else value
        return call

    base = {"nvmlInit": None, "nvmlShutdown": None, "nvmlDeviceGetCount": 1,
            "nvmlSystemGetDriverVersion": "580.95.05", "nvmlDeviceGetHandleByIndex": "handle-0"}
    for name in {**base, **card}:
        card.setdefault(name, base.get(name))
        if name not in missing:
            setattr(module, name, answer(name))
    return module


class Raise:
    def __init__(self, code: int):
        self.code = code


NOT_SUPPORTED = Raise(NVML_ERROR_NOT_SUPPORTED)


def ecc_errors(volatile: int, aggregate: int):
    def total(handle, error_type, counter_type):
        assert handle == "handle-0" and error_type == 1  # NVML_MEMORY_ERROR_TYPE_UNCORRECTED
        return {0: volatile, 1: aggregate}[counter_type]
    return total


A100 = {
    "nvmlDeviceGetCurrPcieLinkGeneration": 4, "nvmlDeviceGetMaxPcieLinkGeneration": 4,
    "nvmlDeviceGetGpuMaxPcieLinkGeneration": 4,
    "nvmlDeviceGetCurrPcieLinkWidth": 8, "nvmlDeviceGetMaxPcieLinkWidth": 16,
    "nvmlDeviceGetEccMode": [1, 1],
    "nvmlDeviceGetTotalEccErrors": ecc_errors(volatile=2, aggregate=5),
    "nvmlDeviceGetRetiredPagesPendingStatus": NOT_SUPPORTED,  # Ampere remaps rows instead
    "nvmlDeviceGetRemappedRows": (0, 1, 1, 0),
    "nvmlDeviceGetCurrentClocksEventReasons": 0x80 | 0x4,
    "nvmlDeviceGetEnforcedPowerLimit": 250000, "nvmlDeviceGetPowerManagementLimit": 250000,
    "nvmlDeviceGetPowerManagementDefaultLimit": 400000,
    "nvmlDeviceGetPersistenceMode": 0, "nvmlDeviceGetMigMode": [1, 1],
}
GEFORCE = {
    "nvmlDeviceGetCurrPcieLinkGeneration": 1, "nvmlDeviceGetMaxPcieLinkGeneration": 4,
    "nvmlDeviceGetGpuMaxPcieLinkGeneration": 4,
    "nvmlDeviceGetCurrPcieLinkWidth": 16, "nvmlDeviceGetMaxPcieLinkWidth": 16,
    "nvmlDeviceGetEccMode": NOT_SUPPORTED, "nvmlDeviceGetTotalEccErrors": NOT_SUPPORTED,
    "nvmlDeviceGetRetiredPagesPendingStatus": NOT_SUPPORTED, "nvmlDeviceGetRemappedRows": NOT_SUPPORTED,
    "nvmlDeviceGetCurrentClocksEventReasons": 0x1, "nvmlDeviceGetMigMode": NOT_SUPPORTED,
    "nvmlDeviceGetEnforcedPowerLimit": 450000, "nvmlDeviceGetPowerManagementLimit": 450000,
    "nvmlDeviceGetPowerManagementDefaultLimit": 450000, "nvmlDeviceGetPersistenceMode": 1,
}


@pytest.fixture
def ask(monkeypatch):
    """ask(card, missing=()) -> the one device of the document the child writes for that fake pynvml."""
    def run(card: dict, missing: tuple[str, ...] = ()) -> dict:
        monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(dict(card), missing))
        document = nvml.query_nvml()
        json.dumps(document, allow_nan=False)  # what the child prints must be JSON
        (device,) = document["devices"]
        return device
    return run


def test_a_data_centre_card_reports_every_health_field(ask):
    device = ask(A100)
    assert device["pcie_gen"] == [4, 4] and device["pcie_gen_gpu_max"] == 4 and device["pcie_width"] == [8, 16]
    assert device["ecc_mode"] is True
    assert device["ecc_uncorrected_volatile"] == 2 and device["ecc_uncorrected_aggregate"] == 5
    assert device["remapped_rows_correctable"] == 0 and device["remapped_rows_uncorrectable"] == 1
    assert device["remapped_rows_pending"] is True and device["remapped_rows_failed"] is False
    assert device["clocks_event_reasons"] == 0x84
    assert device["power_limit_w"] == 250.0 and device["power_management_limit_w"] == 250.0
    assert device["power_default_limit_w"] == 400.0
    assert device["persistence_mode"] is False and device["mig_mode"] is True
    # Ampere has no page retirement: NVML says NotSupported, the field is null and the reason is kept
    assert device["retired_pages_pending"] is None
    assert device["errors"]["retired_pages_pending"] == "NVMLError_NotSupported: Not Supported"


def test_a_card_without_the_features_gives_nulls_never_a_crash(ask):
    device = ask(GEFORCE)
    for field in ("ecc_mode", "ecc_uncorrected_volatile", "ecc_uncorrected_aggregate", "retired_pages_pending",
                  "remapped_rows_pending", "remapped_rows_failed", "remapped_rows_correctable", "mig_mode"):
        assert device[field] is None, field
        assert device["errors"][field] == "NVMLError_NotSupported: Not Supported", field
    assert device["persistence_mode"] is True and device["clocks_event_reasons"] == 1
    assert device["pcie_gen"] == [1, 4]


def test_an_old_pynvml_asks_the_clocks_by_their_old_name(ask):
    old = {**A100, "nvmlDeviceGetCurrentClocksThrottleReasons": 0x40}
    device = ask(old, missing=("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetGpuMaxPcieLinkGeneration"))
    assert device["clocks_event_reasons"] == 0x40 and "clocks_event_reasons" not in device["errors"]
    assert device["pcie_gen_gpu_max"] is None
    assert device["errors"]["pcie_gen_gpu_max"] == ("AttributeError: module 'pynvml' has no attribute "
                                                   "'nvmlDeviceGetGpuMaxPcieLinkGeneration'")


def test_a_driver_library_without_the_function_is_null_with_the_reason(ask):
    card = {**A100, "nvmlDeviceGetCurrentClocksEventReasons": Raise(NVML_ERROR_FUNCTION_NOT_FOUND),
            "nvmlDeviceGetCurrentClocksThrottleReasons": NOT_SUPPORTED,
            "nvmlDeviceGetPowerManagementDefaultLimit": Raise(NVML_ERROR_FUNCTION_NOT_FOUND)}
    device = ask(card)
    assert device["clocks_event_reasons"] is None and device["power_default_limit_w"] is None
    assert device["errors"]["clocks_event_reasons"] == "NVMLError_NotSupported: Not Supported"  # the last asked
    assert device["errors"]["power_default_limit_w"] == "NVMLError_FunctionNotFound: Function Not Found"


def test_answers_out_of_form_are_null(ask):
    odd = {**A100, "nvmlDeviceGetEccMode": "on", "nvmlDeviceGetRemappedRows": (1, 2),
           "nvmlDeviceGetCurrentClocksEventReasons": float("nan"), "nvmlDeviceGetTotalEccErrors": 10 ** 30,
           "nvmlDeviceGetPowerManagementDefaultLimit": None}
    device = ask(odd)
    assert device["ecc_mode"] is None and device["remapped_rows_pending"] is None
    assert device["clocks_event_reasons"] is None and device["ecc_uncorrected_volatile"] is None
    assert device["power_default_limit_w"] is None
    assert set(device["errors"]) <= set(device) - {"errors"}  # every name is a field of the device
