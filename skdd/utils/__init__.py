"""Small shared helpers: device resolution, seeding, torch thread control, validation."""
from ._torch import (resolve_device, resolve_n_threads, seeded, torch_threads, disk_cache,
                     DEFAULT_NUM_THREADS, DEVICE_CHOICES, tune_cpu_allocator)
from ._validation import (check_series, check_positive_int, check_positive_float, check_interval,
                          check_option, check_bool, select_recipe, check_verbose, check_float32_range,
                          channel_scaling, check_folder, check_output_path, CONSTANT_TOLERANCE)
from ._distributed import (process_group, is_distributed, is_main_process, sharded_mean,
                           MatchGradients, check_same_on_ranks)

__all__ = [
    "resolve_device",
    "resolve_n_threads",
    "DEVICE_CHOICES",
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
    "check_verbose",
    "check_float32_range",
    "channel_scaling",
    "CONSTANT_TOLERANCE",
    "check_folder",
    "check_output_path",
    "process_group",
    "is_distributed",
    "is_main_process",
    "sharded_mean",
    "MatchGradients",
    "check_same_on_ranks",
]
