"""analyze.py's settings: the sizes of every part's sample, the attacks' strengths and steps,
and the optimised images' recipe; --quick's smaller values."""
from dataclasses import dataclass

from fmnist.analysis.ascent import Ascent
from fmnist.analysis.from_noise import NoiseRecipe


@dataclass(frozen=True)
class AnalysisSettings:
    tsne_per_class: int = 150            # t-SNE on a stratified subset: 150 images per class
    random_images: int = 1000            # random-pixel attack: the first N test images
    random_draws: int = 3
    random_counts: tuple = (0, 1, 2, 5, 10, 20, 50, 100, 150, 200, 250)
    greedy_images: int = 500             # greedy attack: the first N test images
    greedy_steps: int = 200
    greedy_candidates: int = 4
    epsilons: tuple = (0, 0.01, 0.02, 0.05, 0.1, 0.2)  # FGSM and PGD: L-infinity sizes, of the [0, 1] pixel range
    attack_images: int = 600             # FGSM and PGD: the first N test images, the same for both
    pgd_steps: int = 20
    pgd_restarts: int = 2               # PGD: random starts after the FGSM image
    channels: int = 10                   # guided backprop: channels of the last conv stage
    top_images: int = 5
    map_channels: int = 6                # feature maps per class: channels per stage
    cascade_per_class: int = 10          # cascading randomisation: correctly classified test images per class
    smoothgrad_samples: int = 50         # SmoothGrad, cascade and explanations: noise draws (Smilkov et al.'s 50)
    shuffled_per_class: int = 50         # data randomisation: training images a class, their labels shuffled
    shuffled_epochs: int = 25            # ... and the epochs that memorise them (Adam, shuffled_recipe)
    ig_steps: int = 64                   # integrated gradients in the explanations: path steps
    seed: int = 0


QUICK = AnalysisSettings(tsne_per_class=10, random_images=100, random_draws=2, random_counts=(0, 1, 5, 20),
                         greedy_images=20, greedy_steps=20, epsilons=(0, 0.05, 0.2), attack_images=20,
                         pgd_steps=2, cascade_per_class=1, smoothgrad_samples=4, ig_steps=8,
                         shuffled_per_class=5, shuffled_epochs=2)


@dataclass(frozen=True)
class VisualSettings:
    ascent: Ascent = Ascent()    # class models and channel visualisations: one recipe
    noise: NoiseRecipe = NoiseRecipe()  # class images from noise (Distill's recipe)
    fooling_steps: int = 200
    fooling_step: float = 0.1    # L2 length of one step on a 28 x 28 input in [-1, 1]
    fooling_per_class: int = 10  # targeted fooling: correctly classified test images per class (the first ones)
    typical: float = 95          # a class model farther from its class mean than this percentile of the class's
                                 # test images is called a fooling image


QUICK_VISUAL = VisualSettings(Ascent(strengths=(1.0, 0.1), max_steps=30), NoiseRecipe(steps=8, starts=1),
                              fooling_steps=20, fooling_per_class=2)
