"""Strings of the Models page (full models, the degradation experiment), English and French."""
from ui.i18n import register

STRINGS = {
    "models.title": {"en": "Full models: plain vs ResNet", "fr": "Modèles complets : plain contre ResNet"},
    "models.subtitle": {
        "en": "He et al. (2016) saw deeper *plain* networks train worse than shallow ones — not overfitting, and "
              "not vanishing gradients (with BatchNorm their gradients stay healthy, §4.1): an optimisation "
              "difficulty. Residual shortcuts fix it. Reproduce it here with the same probes as the Lab.",
        "fr": "He et al. (2016) ont vu des réseaux *plain* plus profonds s'entraîner moins bien que des réseaux "
              "moins profonds : ce n'est pas du surapprentissage, ni des gradients évanescents (avec BatchNorm "
              "leurs gradients restent sains, §4.1), c'est une difficulté d'optimisation. Les raccourcis "
              "résiduels le corrigent. Reproduisez-le ici avec les mêmes sondes que le Lab."},
    "models.tab_degradation": {"en": "Degradation experiment", "fr": "Expérience de dégradation"},
    "models.tab_single": {"en": "Single model", "fr": "Un seul modèle"},
    "models.depths": {"en": "Depths", "fr": "Profondeurs"},
    "models.depths_help": {"en": "CIFAR-style nets of 6n+2 layers (paper: 20, 32, 44, 56, 110).",
                           "fr": "Réseaux de type CIFAR à 6n+2 couches (article : 20, 32, 44, 56, 110)."},
    "models.kinds": {"en": "Networks", "fr": "Réseaux"},
    "models.kind.plain": {"en": "plain", "fr": "plain (sans raccourci)"},
    "models.kind.resnet": {"en": "residual (ResNet)", "fr": "résiduel (ResNet)"},
    "models.dataset": {"en": "Data set", "fr": "Jeu de données"},
    "models.epochs": {"en": "Epochs", "fr": "Époques"},
    "models.upsample": {"en": "Digits image size", "fr": "Taille des images de chiffres"},
    "models.upsample.0": {"en": "8×8 (native)", "fr": "8×8 (d'origine)"},
    "models.upsample.16": {"en": "16×16", "fr": "16×16"},
    "models.upsample.32": {"en": "32×32", "fr": "32×32"},
    "models.advanced": {"en": "Training recipe", "fr": "Recette d'entraînement"},
    "models.lr": {"en": "Learning rate", "fr": "Taux d'apprentissage"},
    "models.batch": {"en": "Batch size", "fr": "Taille de lot"},
    "models.warmup": {"en": "Warm-up (epochs)", "fr": "Montée progressive (époques)"},
    "models.warmup_help": {"en": "Linear learning-rate warm-up from 0; the paper warmed up ResNet-110.",
                           "fr": "Montée linéaire du taux depuis 0 ; l'article l'a fait pour ResNet-110."},
    "models.shortcut": {"en": "Shortcut", "fr": "Raccourci"},
    "models.shortcut.auto": {"en": "auto (A for CIFAR nets)", "fr": "auto (A pour les réseaux CIFAR)"},
    "models.shortcut.A": {"en": "A: zero-padded identity", "fr": "A : identité complétée par des zéros"},
    "models.shortcut.B": {"en": "B: 1×1 projection", "fr": "B : projection 1×1"},
    "models.zero_init": {"en": "Zero-init residual branches", "fr": "Branches résiduelles initialisées à zéro"},
    "models.n_train": {"en": "Training examples (0 = all)", "fr": "Exemples d'entraînement (0 = tous)"},
    "models.norm": {"en": "Normalisation", "fr": "Normalisation"},
    "models.norm.auto": {"en": "auto (the model's own)", "fr": "auto (celle du modèle)"},
    "models.norm.batchnorm": {"en": "BatchNorm", "fr": "BatchNorm"},
    "models.norm.none": {"en": "none", "fr": "aucune"},
    "models.norm.groupnorm": {"en": "GroupNorm", "fr": "GroupNorm"},
    "models.init": {"en": "Init", "fr": "Initialisation"},
    "models.model": {"en": "Model", "fr": "Modèle"},
    "models.run": {"en": "Run the experiment", "fr": "Lancer l'expérience"},
    "models.train": {"en": "Train", "fr": "Entraîner"},
    "models.stop": {"en": "Stop", "fr": "Arrêter"},
    "models.recipe_note": {
        "en": "Recipe: SGD momentum 0.9, weight decay 1e-4, lr ÷10 at 50 % and 75 % of training, BN, He init "
              "— the paper's. {runs} runs × {steps} steps, trained together on one worker.",
        "fr": "Recette : SGD avec moment 0,9, décroissance des poids 1e-4, taux ÷10 à 50 % et 75 % de "
              "l'entraînement, BN, init de He — celle de l'article. {runs} entraînements × {steps} pas, "
              "menés ensemble sur un seul processus."},
    "models.missing": {
        "en": "{name} is not on this machine yet ({root}). Download it once (it is stored for later runs).",
        "fr": "{name} n'est pas encore sur cette machine ({root}). Téléchargez-le une fois (il est gardé pour "
              "les prochaines fois)."},
    "models.download": {"en": "Download {name}", "fr": "Télécharger {name}"},
    "models.downloading": {"en": "Downloading {name}…", "fr": "Téléchargement de {name}…"},
    "models.download_failed": {"en": "Download failed: {error}", "fr": "Le téléchargement a échoué : {error}"},
    "models.downloaded": {"en": "{name} is ready.", "fr": "{name} est prêt."},
    "models.pick_runs": {"en": "Pick at least one depth and one kind of network.",
                         "fr": "Choisissez au moins une profondeur et un type de réseau."},
    "models.bad_input": {"en": "Cannot start: {error}", "fr": "Impossible de lancer : {error}"},
    "models.empty": {"en": "Press the button to start. With the defaults (digits, 6 epochs) the four runs take "
                           "one to three minutes on a laptop CPU, seconds on a GPU.",
                     "fr": "Appuyez sur le bouton pour lancer. Avec les réglages par défaut (chiffres, "
                           "6 époques) les quatre entraînements prennent une à trois minutes sur le processeur "
                           "d'un portable, quelques secondes sur un GPU."},
    "models.status": {"en": "{name}: {status} — epoch {epoch}/{epochs}, step {steps}/{total}, {ips:.0f} images/s, "
                            "{device}",
                      "fr": "{name} : {status} — époque {epoch}/{epochs}, pas {steps}/{total}, {ips:.0f} images/s, "
                            "{device}"},
    "models.queued": {"en": "{name}: waiting in the queue (place {position}).",
                      "fr": "{name} : en attente (place {position})."},
    "models.failed": {"en": "{name} failed: {error}", "fr": "{name} a échoué : {error}"},
    "models.fig6": {"en": "Training error (dashed) and test error (bold) — the paper's Fig. 6",
                    "fr": "Erreur d'entraînement (tirets) et de test (gras) — la Fig. 6 de l'article"},
    "models.fig6_help": {
        "en": "Degradation: the deeper plain net has the *higher training error*. Its residual twin does not.",
        "fr": "Dégradation : le réseau plain le plus profond a l'*erreur d'entraînement la plus haute*. "
              "Son jumeau résiduel, non."},
    "models.grads": {"en": "Per-layer gradient norms, side by side", "fr": "Normes des gradients par couche, côte à côte"},
    "models.grads_help": {
        "en": "Median ‖∇W‖ per layer (log scale, input on the left). Plain-56's gradient does not vanish: with "
              "BatchNorm it reaches the input layers, at the first step even larger there than near the output. "
              "As He et al. observe (§4.1), the degradation is not caused by vanishing gradients but is an "
              "optimisation difficulty: the deeper plain net is harder to fit, so its training loss stays high. "
              "ResNet-56's shortcuts let each block learn a residual next to an identity path, and it trains.",
        "fr": "‖∇W‖ médiane par couche (échelle log, entrée à gauche). Le gradient de plain-56 ne s'évanouit "
              "pas : grâce à BatchNorm il atteint les couches d'entrée, au premier pas plus grand encore que "
              "près de la sortie. Comme le constatent He et al. (§4.1), la dégradation ne vient pas de gradients "
              "évanescents : c'est une difficulté d'optimisation, le réseau plain plus profond est plus dur à "
              "ajuster et sa perte d'entraînement reste haute. Les raccourcis de ResNet-56 font apprendre à "
              "chaque bloc un résidu à côté d'un chemin identité, et il s'entraîne."},
    "models.fig7": {"en": "Response std per layer (BN output, before ReLU/addition) — the paper's Fig. 7",
                    "fr": "Écart-type des réponses par couche (sortie de BN, avant ReLU/addition) — la Fig. 7 "
                          "de l'article"},
    "models.topk": {"en": "Top-1 / top-5 test error", "fr": "Erreur de test top-1 / top-5"},
    "models.topk_note": {
        "en": "The shaded columns are the papers' own figures on their own data sets (CIFAR-10, ILSVRC-2010), "
              "shown for scale — not results on the data set trained here.",
        "fr": "Les colonnes grisées sont les chiffres des articles, sur leurs propres jeux de données "
              "(CIFAR-10, ILSVRC-2010), donnés pour l'ordre de grandeur — pas des résultats sur le jeu "
              "entraîné ici."},
    "models.single_charts": {"en": "Loss, gradients by depth and over time", "fr": "Perte, gradients par profondeur et dans le temps"},
    "models.params": {"en": "{model}: {params:,} parameters, {layers} probed layers",
                      "fr": "{model} : {params:,} paramètres, {layers} couches sondées"},
    "models.store_note": {"en": "Run store: {error}", "fr": "Historique des entraînements : {error}"},
    # model_plots labels
    "mplot.iterations": {"en": "iterations", "fr": "itérations"},
    "mplot.error": {"en": "error (%)", "fr": "erreur (%)"},
    "mplot.train": {"en": "train", "fr": "entraînement"},
    "mplot.test": {"en": "test", "fr": "test"},
    "mplot.plain": {"en": "plain networks", "fr": "réseaux plain"},
    "mplot.resnet": {"en": "ResNets", "fr": "ResNets"},
    "mplot.layer": {"en": "layer (input → output)", "fr": "couche (entrée → sortie)"},
    "mplot.grad_norm": {"en": "‖∇W‖ (median over recorded steps)", "fr": "‖∇W‖ (médiane sur les pas enregistrés)"},
    "mplot.std": {"en": "response std", "fr": "écart-type des réponses"},
    "mplot.sorted": {"en": "layer (sorted by std)", "fr": "couche (triée par écart-type)"},
    "mplot.original": {"en": "layer (original order)", "fr": "couche (ordre d'origine)"},
    "mplot.model": {"en": "model", "fr": "modèle"},
    "mplot.dataset": {"en": "data set", "fr": "jeu de données"},
    "mplot.top1": {"en": "top-1 error (ours, %)", "fr": "erreur top-1 (ici, %)"},
    "mplot.top5": {"en": "top-5 error (ours, %)", "fr": "erreur top-5 (ici, %)"},
    "mplot.paper_top1": {"en": "paper's top-1 error (%)", "fr": "erreur top-1 de l'article (%)"},
    "mplot.paper_top5": {"en": "paper's top-5 error (%)", "fr": "erreur top-5 de l'article (%)"},
    "mplot.paper_dataset": {"en": "paper's data set", "fr": "jeu de données de l'article"},
    "mplot.paper_note": {"en": "the paper's figure, on its data set — not ours",
                         "fr": "chiffre de l'article, sur son jeu de données — pas le nôtre"},
    "mplot.no_data": {"en": "no data yet", "fr": "pas encore de données"},
}

register(STRINGS)
