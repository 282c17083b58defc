"""A moto-like fake of the LeadPanther API v1 (agency mode): deterministic data from a seed, the documented
auth/paging/write rules, switchable faults, ground truth and a request log for tests and benchmarks.

    from leadpanther_emulator import EmulatorConfig, Faults, run_emulator
    with run_emulator(EmulatorConfig(seed=7, preset="tiny")) as emu:
        emu.base_url, emu.keys["full"], emu.truth("posts")
"""

from .config import ORDERS, PRESETS, EmulatorConfig, Faults
from .drift import Drift
from .models import KEY_SCOPES, RESOURCES, Backend
from .openapi import openapi_document
from .runner import Emulator, RemoteEmulator, run_emulator

__all__ = ["KEY_SCOPES", "ORDERS", "PRESETS", "RESOURCES", "Backend", "Drift", "Emulator", "EmulatorConfig", "Faults",
           "RemoteEmulator", "openapi_document", "run_emulator"]
