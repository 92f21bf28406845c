"""Small shared helpers: device resolution, seeding, torch thread control, validation."""
from ._torch import (resolve_device, seeded, torch_threads, disk_cache, DEFAULT_NUM_THREADS,
                     tune_cpu_allocator)
from ._validation import (check_series, check_positive_int, check_positive_float, check_interval,
                          check_option, check_bool, select_recipe)

__all__ = [
    "resolve_device",
    "seeded",
    "torch_threads",
    "tune_cpu_allocator",
    "disk_cache",
    "check_bool",
    "DEFAULT_NUM_THREADS",
    "check_series",
    "check_positive_int",
    "check_positive_float",
    "check_interval",
    "check_option",
    "select_recipe",
]
