"""Strings of the router and the shared sidebar (English and French)."""
from ui.i18n import register

register({
    "app.title": {"en": "Gradient Flow Lab", "fr": "Labo du flux de gradient"},
    "app.language": {"en": "Language", "fr": "Langue"},
    "app.seed": {"en": "Seed", "fr": "Graine"},
    "app.seed_help": {"en": "Seeds the init, the data and the batches: the same seed gives the same run.",
                      "fr": "Fixe l'initialisation, les données et les lots : même graine, même entraînement."},
    "app.device": {"en": "Device", "fr": "Processeur de calcul"},
    "app.device_in_use": {"en": "In use: {label}", "fr": "Utilisé : {label}"},
    "app.device_missing": {"en": "{device} is not available on this machine: choose auto or cpu.",
                           "fr": "{device} n'est pas disponible sur cette machine : choisissez auto ou cpu."},
    "dev.auto": {"en": "auto (GPU if there is one)", "fr": "auto (GPU s'il y en a un)"},
    "dev.cpu": {"en": "CPU", "fr": "CPU"},
    "dev.cuda": {"en": "CUDA GPU", "fr": "GPU CUDA"},
    "dev.mps": {"en": "Apple MPS", "fr": "Apple MPS"},
    "nav.lab": {"en": "Lab", "fr": "Labo"},
    "nav.runs": {"en": "Runs", "fr": "Entraînements"},
    "nav.compare": {"en": "Compare", "fr": "Comparer"},
    "nav.models": {"en": "Models", "fr": "Modèles"},
    "app.password": {"en": "Password of this lab", "fr": "Mot de passe de ce labo"},
    "app.enter": {"en": "Enter", "fr": "Entrer"},
    "app.wrong_password": {"en": "Wrong password: ask the person who runs this lab.",
                           "fr": "Mot de passe incorrect : demandez-le à la personne qui anime ce labo."},
    "app.link_error": {"en": "This link could not be opened; the default preset is loaded.",
                       "fr": "Ce lien n'a pas pu être ouvert ; le préréglage par défaut est chargé."},
    "app.page_error": {"en": "Something went wrong on this page; the default preset is loaded (details are in "
                             "the server's log).",
                       "fr": "Un problème est survenu sur cette page ; le préréglage par défaut est chargé "
                             "(détails dans le journal du serveur)."},
    "app.page_error_again": {"en": "This page failed again on the default settings (details are in the server's "
                                   "log); the other pages still work.",
                             "fr": "Cette page a de nouveau échoué avec les réglages par défaut (détails dans le "
                                   "journal du serveur) ; les autres pages fonctionnent."},
})
