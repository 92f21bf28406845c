"""Why depth 3 breaks gradient matching on 8x8 digits (docs/classification.md, "ConvNet
depth on 8x8 digits").

1. One class, a fixed ConvNet of depth 3 and of depth 2: DC's loss and the input
   gradient's norm over 60 SGD steps on one synthetic image (lr 0.1, momentum 0.5).
2. DCDistiller at ipc 1 with 100 updates through depth 3 (the depth `net_depth=None` avoids there):
   the synthetic images' standard deviation against the real images'.

Run: SKDD_DATA_HOME=... python docs/results/diagnostics/depth_on_digits.py
"""
import torch

from skdd.classification import DCDistiller
from skdd.datasets import load_digits_images
from skdd.nn import make_classification_backbone
from skdd.objectives import GradientMatching

X_train, _, y_train, _ = load_digits_images()
X = torch.as_tensor((X_train - X_train.mean()) / X_train.std())
y = torch.as_tensor(y_train)
torch.manual_seed(0)
for depth in (3, 2):
    net = make_classification_backbone("convnet", 1, 10, (8, 8), depth=depth)
    matching = GradientMatching(net)
    real, labels = X[y == 3][:100], y[y == 3][:100]
    synthetic = X[y == 3][100:101].clone().requires_grad_(True)
    opt = torch.optim.SGD([synthetic], lr=0.1, momentum=0.5)
    for step in range(60):
        opt.zero_grad()
        loss = matching.loss(real, labels, synthetic, labels[:1])
        loss.backward()
        if step % 10 == 0:
            print(f"depth {depth} step {step}: loss {float(loss.detach()):.1f}, "
                  f"input gradient norm {float(synthetic.grad.norm()):.1f}")
        opt.step()

dc = DCDistiller(ipc=1, max_iter=100, net_depth=3, random_state=0).fit(X_train, y_train)
print(f"DC through depth 3: synthetic std {dc.X_syn_.std():.2f}, real std {X_train.std():.2f}")
