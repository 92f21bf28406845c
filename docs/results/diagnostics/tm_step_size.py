"""Why TM needs small expert minibatches on the small UCR series (docs/classification.md,
"TM's experts on small training sets").

MTTDistiller at ipc 1 with the UCR tables' CPU setting (200 updates, 10 student steps over
a span of 2 expert epochs, 5 experts x 15 epochs), seed 0, on each set's training split:
with MTT's expert minibatch of 256 (one SGD step per epoch on these 36-67 series, so a
span is 2 expert steps against the student's 10) and with the default
(``expert_batch_size=None``: at least 5 expert steps per epoch), each at two learning
rates of the synthetic samples. Printed: the normalised trajectory-matching loss at
update 0 and its mean over the last 40 updates, the synthetic samples' standard deviation
against the real ones', and the student's learned step size (it starts at 0.01).

Run: SKDD_DATA_HOME=... python docs/results/diagnostics/tm_step_size.py
"""
import tempfile

import torch

from skdd.benchmarks._classify import load_classification_splits
from skdd.classification import MTTDistiller

torch.set_num_threads(1)
with tempfile.TemporaryDirectory() as expert_cache:
    for name in ("ArrowHead", "GunPoint", "ItalyPowerDemand"):
        X_train, _, y_train, _, _ = load_classification_splits(name)
        for batch in (256, None):
            for lr in (1.0, 100.0):
                tm = MTTDistiller(ipc=1, max_iter=200, syn_steps=10, lr=lr, random_state=0,
                                  expert_batch_size=batch, expert_cache=expert_cache)
                tm.fit(X_train, y_train)
                last = tm.loss_curve_[-40:].mean()
                print(f"{name} expert batch {tm.expert_batch_size_} lr {lr:g}: loss at "
                      f"update 0 {tm.loss_curve_[0]:.2f}, last 40 {last:.2f}, "
                      f"synthetic std / real std {tm.X_syn_.std() / X_train.std():.2f}, "
                      f"learned step {tm.syn_lr_:.2g}", flush=True)
