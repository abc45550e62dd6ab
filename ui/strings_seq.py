"""Strings of the Sequences page (through time: recurrent nets), English and French."""
from labcore.figures.sequence import ENGLISH
from ui.i18n import register

_FR_DIAG = {
    "time_vanishing": "Gradient évanescent dans le temps : le premier pas reçoit {ratio:.0e}× le gradient du dernier "
                      "(‖∂L/∂h_1‖ / ‖∂L/∂h_T‖) ; ce que disait l'entrée au début n'atteint presque plus les poids.",
    "time_exploding": "Gradient explosif dans le temps : le premier pas reçoit {ratio:.0e}× le gradient du dernier.",
    "time_uneven": "Le gradient s'estompe dans le temps : le premier pas reçoit {ratio:.2g}× le gradient du dernier.",
    "time_healthy": "Le gradient traverse le temps : ‖∂L/∂h_t‖ reste dans un facteur {limit:.0f} du dernier pas au premier.",
}

register({f"diag.{k}": {"en": v, "fr": _FR_DIAG[k]} for k, v in ENGLISH.items()})
register({
    "seq.title": {"en": "Through time: recurrent nets", "fr": "À travers le temps : réseaux récurrents"},
    "seq.subtitle": {"en": "A tanh RNN, an LSTM or a GRU reads a long sequence whose answer depends on its start. "
                           "The charts show ‖∂L/∂h_t‖, the gradient reaching each time step t: where it vanishes, "
                           "the start of the sequence cannot be learned (Bengio et al. 1994; Hochreiter & Schmidhuber 1997).",
                     "fr": "Un RNN tanh, un LSTM ou un GRU lit une longue séquence dont la réponse dépend du début. "
                           "Les graphiques montrent ‖∂L/∂h_t‖, le gradient qui atteint chaque pas de temps t : là où il "
                           "s'évanouit, le début de la séquence ne peut pas être appris (Bengio et al. 1994 ; "
                           "Hochreiter & Schmidhuber 1997)."},
    "seq.preset": {"en": "Preset", "fr": "Préréglage"},
    "seq.preset_none": {"en": "(my settings)", "fr": "(mes réglages)"},
    "seq.cell": {"en": "Cell", "fr": "Cellule"},
    "seq.cell.rnn": {"en": "tanh RNN", "fr": "RNN tanh"},
    "seq.cell.lstm": {"en": "LSTM", "fr": "LSTM"},
    "seq.cell.gru": {"en": "GRU", "fr": "GRU"},
    "seq.task": {"en": "Task", "fr": "Tâche"},
    "seq.task.adding": {"en": "adding problem", "fr": "problème d'addition"},
    "seq.task.recall": {"en": "recall the first token", "fr": "rappeler le premier symbole"},
    "seq.task.parity": {"en": "parity of the first bits", "fr": "parité des premiers bits"},
    "seq.seq_len": {"en": "Sequence length T", "fr": "Longueur de séquence T"},
    "seq.difficulty": {"en": "Difficulty (0 = the task's default)", "fr": "Difficulté (0 = celle de la tâche)"},
    "seq.difficulty_help": {"en": "adding: marked numbers (2-8); recall: alphabet size (2-32); parity: leading bits (1-8).",
                            "fr": "addition : nombres marqués (2-8) ; rappel : taille de l'alphabet (2-32) ; "
                                  "parité : bits de tête (1-8)."},
    "seq.hidden": {"en": "Hidden units", "fr": "Unités cachées"},
    "seq.layers": {"en": "Recurrent layers", "fr": "Couches récurrentes"},
    "seq.init": {"en": "Recurrent init", "fr": "Init. récurrente"},
    "seq.init.xavier": {"en": "Xavier", "fr": "Xavier"},
    "seq.init.orthogonal": {"en": "orthogonal", "fr": "orthogonale"},
    "seq.init.identity": {"en": "identity (IRNN)", "fr": "identité (IRNN)"},
    "seq.forget_bias": {"en": "LSTM forget-gate bias", "fr": "Biais de la porte d'oubli (LSTM)"},
    "seq.clip": {"en": "Gradient clipping (0 = off)", "fr": "Écrêtage du gradient (0 = aucun)"},
    "seq.lr": {"en": "Learning rate (Adam)", "fr": "Taux d'apprentissage (Adam)"},
    "seq.steps": {"en": "Steps", "fr": "Pas"},
    "seq.bad_input": {"en": "Change this setting: {error}", "fr": "Modifiez ce réglage : {error}"},
    "seq.twin": {"en": "Compare with", "fr": "Comparer avec"},
    "seq.twin.none": {"en": "nothing (one run)", "fr": "rien (un seul entraînement)"},
    "seq.twin.lstm": {"en": "LSTM", "fr": "LSTM"},
    "seq.twin.rnn": {"en": "tanh RNN", "fr": "RNN tanh"},
    "seq.twin.gru": {"en": "GRU", "fr": "GRU"},
    "seq.twin.clip": {"en": "+ gradient clipping (1.0)", "fr": "+ écrêtage du gradient (1,0)"},
    "seq.twin.no_clip": {"en": "without clipping", "fr": "sans écrêtage"},
    "seq.twin.orthogonal": {"en": "orthogonal init", "fr": "init. orthogonale"},
    "seq.chart.time": {"en": "Gradient through time ‖∂L/∂h_t‖ (first input on the left)",
                       "fr": "Gradient à travers le temps ‖∂L/∂h_t‖ (première entrée à gauche)"},
    "seq.chart.heat": {"en": "Time step × training step", "fr": "Pas de temps × pas d'entraînement"},
    "seq.chart.gates": {"en": "Gates against t (latest recorded step)", "fr": "Portes selon t (dernier pas mesuré)"},
    "seq.axis.time": {"en": "time step t (first input → last)", "fr": "pas de temps t (première entrée → dernière)"},
    "seq.axis.signal": {"en": "‖∂L/∂h_t‖", "fr": "‖∂L/∂h_t‖"},
    "seq.axis.log10": {"en": "log₁₀ ‖∂L/∂h_t‖", "fr": "log₁₀ ‖∂L/∂h_t‖"},
    "seq.axis.keep_gate": {"en": "keep gate (LSTM f, GRU z) mean", "fr": "porte de mémoire (f du LSTM, z du GRU), moyenne"},
    "seq.axis.time_row": {"en": "time step", "fr": "pas de temps"},
    "seq.gates_note": {"en": "A tanh RNN has no gates: its saturated share counts h_t units within 1% of ±1.",
                       "fr": "Un RNN tanh n'a pas de portes : sa part saturée compte les unités de h_t à 1 % de ±1."},
    "seq.link": {"en": "This page's link reopens these settings.", "fr": "Le lien de cette page rouvre ces réglages."},
})

register({
    "tf.title": {"en": "Through depth: transformers", "fr": "À travers la profondeur : transformers"},
    "tf.subtitle": {"en": "A small transformer encoder learns a token task. Where the LayerNorm sits decides how the "
                          "gradient spreads over depth at initialisation: after each residual add (Post-LN) the blocks "
                          "near the output get the most, before each sublayer (Pre-LN) they are even, and Post-LN "
                          "needs a learning-rate warm-up (Xiong et al. 2020).",
                    "fr": "Un petit encodeur transformer apprend une tâche sur des symboles. La place de la LayerNorm "
                          "décide de la répartition du gradient en profondeur à l'initialisation : après chaque addition "
                          "résiduelle (Post-LN) les blocs proches de la sortie en reçoivent le plus, avant chaque "
                          "sous-couche (Pre-LN) il est réparti, et le Post-LN demande une montée progressive du taux "
                          "d'apprentissage (Xiong et al. 2020)."},
    "tf.ln": {"en": "LayerNorm", "fr": "LayerNorm"},
    "tf.ln.post": {"en": "Post-LN (after the add)", "fr": "Post-LN (après l'addition)"},
    "tf.ln.pre": {"en": "Pre-LN (before the sublayer)", "fr": "Pre-LN (avant la sous-couche)"},
    "tf.layers": {"en": "Blocks", "fr": "Blocs"},
    "tf.d_model": {"en": "d_model", "fr": "d_model"},
    "tf.heads": {"en": "Heads", "fr": "Têtes"},
    "tf.task.sort": {"en": "sort the tokens", "fr": "trier les symboles"},
    "tf.task.reverse": {"en": "reverse the tokens", "fr": "inverser les symboles"},
    "tf.seq_len": {"en": "Tokens per sequence", "fr": "Symboles par séquence"},
    "tf.vocab": {"en": "Token values", "fr": "Valeurs des symboles"},
    "tf.warmup": {"en": "Warm-up steps (0 = none)", "fr": "Pas de montée (0 = aucune)"},
    "tf.twin.none": {"en": "nothing (one run)", "fr": "rien (un seul entraînement)"},
    "tf.twin.pre_ln": {"en": "Pre-LN", "fr": "Pre-LN"},
    "tf.twin.post_ln": {"en": "Post-LN", "fr": "Post-LN"},
    "tf.twin.warmup": {"en": "+ warm-up (a quarter of the steps)", "fr": "+ montée (un quart des pas)"},
    "tf.twin.no_warmup": {"en": "without warm-up", "fr": "sans montée"},
    "tf.twin.clip": {"en": "+ gradient clipping (1.0)", "fr": "+ écrêtage du gradient (1,0)"},
    "tf.chart.depth": {"en": "Gradient norm per sublayer (input on the left)",
                       "fr": "Norme du gradient par sous-couche (entrée à gauche)"},
    "tf.axis.depth": {"en": "sublayer (1.attn, 1.mlp, … → head)", "fr": "sous-couche (1.attn, 1.mlp, … → tête)"},
    "tf.axis.stream": {"en": "residual-stream RMS", "fr": "RMS du flux résiduel"},
    "tf.acts_note": {"en": "Left: the residual stream's RMS after each sublayer (Post-LN holds it at 1; Pre-LN lets it grow).",
                     "fr": "À gauche : la RMS du flux résiduel après chaque sous-couche (1 en Post-LN ; elle croît en Pre-LN)."},
})
