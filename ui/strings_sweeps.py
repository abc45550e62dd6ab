"""Strings of the Sweeps page (phase diagrams), English and French."""
from ui.i18n import register

register({
    "nav.sweeps": {"en": "Sweeps", "fr": "Balayages"},
    "sw.title": {"en": "Sweeps: where does a network stop training?",
                 "fr": "Balayages : à partir d'où un réseau n'apprend-il plus ?"},
    "sw.intro": {"en": "Many short runs over depth × σ_w (init gain) or depth × learning rate. Each cell is one run, "
                       "coloured as it finishes. The dashed line is the mean-field prediction depth = k·ξ "
                       "(Schoenholz et al. 2017): nets train up to a few ξ, and ξ diverges at the order-to-chaos line.",
                 "fr": "De nombreux entraînements courts sur profondeur × σ_w (gain d'initialisation) ou profondeur × taux "
                       "d'apprentissage. Chaque case est un entraînement, colorée dès qu'il se termine. La ligne en "
                       "pointillés est la prédiction de champ moyen profondeur = k·ξ (Schoenholz et al. 2017) : un réseau "
                       "s'entraîne jusqu'à quelques ξ, et ξ diverge sur la frontière ordre-chaos."},
    "sw.kind": {"en": "Diagram", "fr": "Diagramme"},
    "sw.kind.phase": {"en": "depth × σ_w (init gain)", "fr": "profondeur × σ_w (gain d'initialisation)"},
    "sw.kind.lr": {"en": "depth × learning rate", "fr": "profondeur × taux d'apprentissage"},
    "sw.activation": {"en": "Activation", "fr": "Activation"},
    "sw.depths": {"en": "Depths (start:stop:step or a,b,c)", "fr": "Profondeurs (début:fin:pas ou a,b,c)"},
    "sw.gains": {"en": "σ_w values", "fr": "Valeurs de σ_w"},
    "sw.lrs": {"en": "Learning rates", "fr": "Taux d'apprentissage"},
    "sw.steps": {"en": "Steps per run", "fr": "Pas par entraînement"},
    "sw.seeds": {"en": "Seeds", "fr": "Graines"},
    "sw.width": {"en": "Width", "fr": "Largeur"},
    "sw.start": {"en": "Start the sweep", "fr": "Lancer le balayage"},
    "sw.stop": {"en": "Stop", "fr": "Arrêter"},
    "sw.resume": {"en": "Resume (run the missing cells)", "fr": "Reprendre (les cases manquantes)"},
    "sw.size": {"en": "{points} runs × {steps} steps", "fr": "{points} entraînements × {steps} pas"},
    "sw.too_many_points": {"en": "{points} runs is more than this page starts ({max}). Use fewer values, or run it "
                                 "from the command line (`python -m labcore sweep ...`, on a Ray cluster if needed).",
                           "fr": "{points} entraînements, c'est plus que cette page n'en lance ({max}). Réduisez les "
                                 "valeurs, ou lancez-le en ligne de commande (`python -m labcore sweep ...`, sur un "
                                 "cluster Ray si besoin)."},
    "sw.too_many_steps": {"en": "{points} runs × {steps} steps is over this page's budget ({max} steps in all): "
                                "fewer steps or fewer runs, or the command line.",
                          "fr": "{points} entraînements × {steps} pas dépassent le budget de cette page ({max} pas "
                                "au total) : moins de pas ou d'entraînements, ou la ligne de commande."},
    "sw.busy": {"en": "A sweep is already running: stop it first.", "fr": "Un balayage est déjà en cours : arrêtez-le d'abord."},
    "sw.progress": {"en": "{done}/{total} runs done, {failed} failed. Time left: {eta}",
                    "fr": "{done}/{total} entraînements faits, {failed} en échec. Temps restant : {eta}"},
    "sw.starting": {"en": "Starting the workers…", "fr": "Démarrage des processus…"},
    "sw.eta_unknown": {"en": "estimating…", "fr": "estimation…"},
    "sw.pick": {"en": "Sweep", "fr": "Balayage"},
    "sw.none": {"en": "No sweeps yet: start one above, or with `python -m labcore sweep phase`.",
                "fr": "Aucun balayage pour l'instant : lancez-en un ci-dessus, ou avec `python -m labcore sweep phase`."},
    "sw.colour": {"en": "Colour", "fr": "Couleur"},
    "sw.k": {"en": "k in depth = k·ξ", "fr": "k dans profondeur = k·ξ"},
    "sw.click": {"en": "Click a cell to open its run in the Lab.", "fr": "Cliquez une case pour ouvrir son entraînement dans le Labo."},
    "sw.export": {"en": "Download the points (CSV)", "fr": "Télécharger les points (CSV)"},
    "sw.delete": {"en": "Delete this sweep and its runs", "fr": "Supprimer ce balayage et ses entraînements"},
    "sw.deleted": {"en": "Deleted sweep {id} ({n} runs).", "fr": "Balayage {id} supprimé ({n} entraînements)."},
    "sw.error": {"en": "The sweep stopped on an error: {error}", "fr": "Le balayage s'est arrêté sur une erreur : {error}"},
    "sw.bad": {"en": "{field}: {allowed} (got {value}).", "fr": "{field} : {allowed} (reçu {value})."},
    "sw.boundary": {"en": "Measured: deepest trainable depth (test accuracy ≥ 50%) per σ_w, beside k·ξ.",
                    "fr": "Mesuré : profondeur maximale entraînable (précision test ≥ 50 %) par σ_w, à côté de k·ξ."},
    "sw.col.test_acc": {"en": "test accuracy", "fr": "précision (test)"},
    "sw.col.signal_ratio_init": {"en": "log₁₀ first/last ‖∂L/∂h‖ at init", "fr": "log₁₀ premier/dernier ‖∂L/∂h‖ à l'init"},
    "sw.col.grad_ratio": {"en": "log₁₀ first/last ‖∇W‖", "fr": "log₁₀ premier/dernier ‖∇W‖"},
    "sw.col.final_loss": {"en": "final training loss", "fr": "perte finale (entraînement)"},
    "sw.axis.depth": {"en": "depth (hidden layers)", "fr": "profondeur (couches cachées)"},
    "sw.axis.gain": {"en": "σ_w (init gain)", "fr": "σ_w (gain d'initialisation)"},
    "sw.axis.lr": {"en": "learning rate", "fr": "taux d'apprentissage"},
    "sw.theory": {"en": "depth = {k:g}·ξ (mean-field)", "fr": "profondeur = {k:g}·ξ (champ moyen)"},
    "sw.theory_grad": {"en": "depth = {k:g}·|ξ_∇| (gradients explode)",
                       "fr": "profondeur = {k:g}·|ξ_∇| (les gradients explosent)"},
    "sw.fig_title": {"en": "{what}: {activation}, σ_b = {sigma_b:g}", "fr": "{what} : {activation}, σ_b = {sigma_b:g}"},
})
