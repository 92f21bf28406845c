"""Why DC's image learning rate (0.1) is too large on the UCR series
(docs/classification.md, "DC's learning rate on series").

1. The relative size of DC's input gradient, ``|grad| / |x|``, for one synthetic sample of
   class 0 matched against up to 256 real samples of its class, through five freshly
   initialised ConvNets of the default depth, on each set (data standardised as the
   distillers do). An SGD step of learning rate ``lr`` moves the sample by ``lr`` times
   that fraction of its norm.
2. DCDistiller on ArrowHead at ipc 1, 100 updates, seed 0, for several learning rates: the
   matching loss by blocks of 20 updates (a fresh network at every update, DC's loops for
   ipc 1) and the synthetic samples' standard deviation against the real ones'.

Run: SKDD_DATA_HOME=... python docs/results/diagnostics/dc_step_size.py
"""
import numpy as np
import torch

from skdd.benchmarks._classify import load_classification_splits
from skdd.classification import DCDistiller
from skdd.nn import convnet_depth, make_classification_backbone
from skdd.objectives import GradientMatching

torch.set_num_threads(1)
torch.manual_seed(0)
for name in ("mnist10k", "digits", "ArrowHead", "GunPoint", "ItalyPowerDemand"):
    X_train, _, y_train, _, _ = load_classification_splits(name)
    X = torch.as_tensor((X_train - X_train.mean()) / X_train.std(), dtype=torch.float32)
    y = torch.as_tensor(y_train).long()
    size = tuple(X.shape[2:])
    ratios = []
    for _ in range(5):
        net = make_classification_backbone("convnet", X.shape[1], int(y.max()) + 1, size,
                                           depth=convnet_depth(size))
        own = torch.nonzero(y == 0).flatten()
        synthetic = X[own[-1:]].clone().requires_grad_(True)
        loss = GradientMatching(net).loss(X[own[:256]], y[own[:256]], synthetic, y[own[-1:]])
        (grad,) = torch.autograd.grad(loss, synthetic)
        ratios.append(float(grad.norm() / synthetic.detach().norm()))
    print(f"{name}: |grad| / |x| = {np.mean(ratios):.2f} (lr 0.1 moves a sample by "
          f"{10 * np.mean(ratios):.0f}% of its norm)")

X_train, _, y_train, _, _ = load_classification_splits("ArrowHead")
for lr in (0.0003, 0.001, 0.003, 0.01, 0.1):
    dc = DCDistiller(ipc=1, max_iter=100, lr=lr, random_state=0).fit(X_train, y_train)
    blocks = np.round(dc.loss_curve_.reshape(5, 20).mean(1)).astype(int).tolist()
    print(f"ArrowHead DC lr {lr}: loss at update 0 {dc.loss_curve_[0]:.0f}, means of updates "
          f"0-19 ... 80-99 {blocks}, synthetic std / real std "
          f"{dc.X_syn_.std() / X_train.std():.2f}")
