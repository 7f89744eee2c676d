"""Every string the bot shows a user, in English, French and Spanish (the CITES languages).

Messages are Telegram HTML. Placeholders are filled by `t()`, which escapes every value, so
user text and backend text can never inject markup. A test checks that every key exists in
every language with the same placeholders; add a language by adding a dict.
"""

from __future__ import annotations

import html
from typing import Any

DEFAULT_LANGUAGE = "en"

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}

EN = {
    "start": (
        "<b>wildflag</b> passes suspicious online offers of wildlife (ivory, pangolin scales, "
        "rhino horn, live parrots and reptiles, rosewood, orchids…) to the national "
        "enforcement units that can act on them.\n\n"
        "<b>To report</b>, just send me the listing: a link, photos, the text, or forward the "
        "post. Then I show you exactly what will be sent before anything leaves.\n\n"
        "<b>Who sees a report</b>: the wildflag service at {service}, and the officers of the "
        "units of the country it concerns (a coordinating unit when no country is clear).\n\n"
        "<b>Anonymity</b>: reports are anonymous. I send nothing about your Telegram account "
        "(no name, no username, no id) to the service. I keep only your language and the "
        "references of your reports here, so that you can follow them with /status and /mine."
    ),
    "help": (
        "Send a link, photos, text or a forwarded post to start a report.\n"
        "/report — start a report\n"
        "/done — finish adding to the report\n"
        "/cancel — drop the report you are writing\n"
        "/status REF — the status of one of your reports\n"
        "/mine — your reports\n"
        "/language — change language\n"
        "/link CODE — officers: link your wildflag account (in a private chat)\n"
        "/unlink — officers: unlink it; your reports are anonymous again\n"
        "/start — what this bot does, who sees a report, anonymity"
    ),
    "report_begin": (
        "Send the listing: a link, photos (as photos or files), its text, or forward the post, "
        "in any order. Press Done when that is all."
    ),
    "added_link": "Link noted: {url}",
    "added_text": "Text noted.",
    "added_photo": "Photo {count} of at most {max} added.",
    "added_forward": "Forwarded post noted.",
    "more_or_done": "Send more, or press Done.",
    "nothing_yet": "Nothing to send yet: send a link, a photo or some text first.",
    "ask_country": (
        "Which country is the seller or the listing in? Send a two-letter code (FR) or a "
        "name (France), or press Skip."
    ),
    "bad_country": "I don't know the country “{answer}”. Send a code like FR or a name, or Skip.",
    "ask_notes": "Anything the officers should know? Send a note, or press Skip.",
    "summary_title": "<b>This is what will be sent:</b>",
    "summary_link": "Link: {url}",
    "summary_text": "Text: {text}",
    "summary_text_cut": "Text ({chars} characters): {text}…",
    "summary_photos": "Photos: {count}",
    "summary_country": "Country: {country}",
    "summary_country_none": "Country: not given (the service will work it out)",
    "summary_notes": "Notes: {notes}",
    "summary_to": (
        "<b>To</b>: the wildflag service at {service}; the units of the country it concerns. "
        "Nothing about your Telegram account is sent."
    ),
    "button_done": "Done",
    "button_cancel": "Cancel",
    "button_skip": "Skip",
    "button_confirm": "Confirm and send",
    "sending": "Sending…",
    "cancelled": "Cancelled. Nothing was sent.",
    "nothing_to_cancel": "There is no report in progress.",
    "receipt_title": "<b>Report received.</b> Reference: <code>{reference}</code>",
    "receipt_species": "Recognised: {species}",
    "receipt_no_species": "No listed species recognised: officers will review it.",
    "receipt_priority": "Priority: {priority}",
    "receipt_units": "Sent to units: {units}",
    "receipt_link": "Follow it: {url}  (or /status {reference})",
    "species_item": "{taxon} (CITES Appendix {appendix})",
    "priority_critical": "critical (Appendix I)",
    "priority_high": "high (Appendix II)",
    "priority_normal": "normal (Appendix III)",
    "priority_review": "to review",
    "queued": (
        "The wildflag service cannot be reached right now. Your report is kept and will be "
        "sent automatically; I will tell you its reference when it goes through."
    ),
    "queued_sent": "Your queued report went through.",
    "rejected": "The service refused this report: {message}",
    "rejected_queued": "The service refused a queued report: {message}",
    "download_failed": "I could not fetch a photo from Telegram; the report is kept and retried.",
    "rate_limited": (
        "You have sent {limit} reports in the last hour, the most allowed. Please try again "
        "in {minutes} min."
    ),
    "photo_too_big": "That image is {size} MB; the limit is {limit} MB. Send a smaller one.",
    "too_many_photos": "A report holds at most {max} photos; that one was not added.",
    "not_image": (
        "I can only take images (JPEG, PNG, WebP or GIF) as files. “{name}” is {kind}; it was "
        "not added."
    ),
    "unknown_command": "Unknown command {command}. /help lists what I understand.",
    "text_hint": "To report a listing, send a link, a photo or forward the post, or use /report.",
    "status_usage": "Send /status followed by a reference, e.g. /status WF-7K3M-9QXD.",
    "status_not_yours": (
        "{reference} is not one of your reports. I only show the reports sent from this chat."
    ),
    "status_title": "<b>{reference}</b>: {status}",
    "status_received": "Received: {date}",
    "status_unavailable": "The service cannot be reached right now; try again later.",
    "status_queued": "queued, not sent yet",
    "mine_empty": "You have no reports yet. Send a link or a photo to start one.",
    "mine_title": "<b>Your reports</b>",
    "mine_item": "<code>{reference}</code> — {status}, {priority}",
    "mine_queued": "(queued, {count}) waiting for the service",
    "language_choose": "Choose a language:",
    "language_set": "Language: English.",
    "language_unknown": "I don't speak “{code}”. Available: {available}.",
    "stale_button": "That button belongs to a report that is finished.",
    "error": "Something went wrong on my side. Please try again.",
    "link_usage": (
        "Officers: send /link followed by the code your unit admin gave you, e.g. "
        "/link ABCDE-12345."
    ),
    "link_private_only": (
        "Send /link to me in a private chat, never in a group. Everyone here saw that code, "
        "so it no longer works: ask your unit admin for a new one."
    ),
    "link_done": (
        "Linked: you act as <b>{name}</b> ({role}, unit {unit}). Your reports now carry your "
        "identity and unit, and the buttons in your unit's chat act with your rights."
    ),
    "link_refused": "Not linked: {message}",
    "link_unavailable": "This bot cannot link accounts: it has no backend token.",
    "unlink_done": "Unlinked. Your reports are anonymous again.",
    "unlink_none": "Your Telegram account was not linked.",
    "receipt_duplicate": "Already reported: case {case}, reported {count} times.",
    "receipt_new_case": "New case {case}.",
    "summary_to_officer": (
        "<b>To</b>: the wildflag service at {service}; the units of the country it concerns. "
        "Sent as your linked account {name} (unit {unit})."
    ),
    "case_acknowledged": "Acknowledged by {name} at {time}",
    "case_assigned": "Assigned to {name} at {time}",
    "case_closed": "Closed as {outcome} by {name} at {time}",
    "case_units": "Units: {units}",
    "outcome_false_positive": "not wildlife (false positive)",
    "outcome_removed": "listing removed",
    "outcome_seized": "seized",
    "outcome_no_offence": "no offence",
    "outcome_duplicate": "duplicate",
    "toast_acknowledged": "Acknowledged.",
    "toast_assigned": "Assigned to you.",
    "toast_closed": "Closed: not wildlife.",
    "toast_rerouted": "Sent to {unit} as well.",
    "toast_choose_unit": "Choose a unit, or Other unit… to type its code.",
    "button_other_unit": "Other unit…",
    "button_back": "Back",
    "ask_unit_code": (
        "{name}, reply to this message with the code of the unit to send case {case} to "
        "(e.g. FR, COORD)."
    ),
    "rerouted": "Case {case} sent to {unit} as well, by {name}.",
    "action_refused": "Refused: {message}",
    "case_not_yours": "Refused: case {case} is not with your unit.",
    "action_unavailable": "The wildflag service cannot be reached; nothing changed. Try again.",
    "actions_unavailable": "This bot cannot act on cases: it has no backend token.",
}

FR = {
    "start": (
        "<b>wildflag</b> transmet les offres suspectes d'animaux et de plantes sauvages en "
        "ligne (ivoire, écailles de pangolin, corne de rhinocéros, perroquets et reptiles "
        "vivants, bois de rose, orchidées…) aux unités nationales qui peuvent agir.\n\n"
        "<b>Pour signaler</b>, envoyez-moi l'annonce : un lien, des photos, le texte, ou "
        "transférez le message. Je vous montre ensuite exactement ce qui sera envoyé, avant "
        "tout envoi.\n\n"
        "<b>Qui voit un signalement</b> : le service wildflag à {service}, et les agents des "
        "unités du pays concerné (une unité de coordination si aucun pays n'est clair).\n\n"
        "<b>Anonymat</b> : les signalements sont anonymes. Je n'envoie rien de votre compte "
        "Telegram (ni nom, ni pseudo, ni identifiant) au service. Je garde seulement votre "
        "langue et les références de vos signalements, pour /status et /mine."
    ),
    "help": (
        "Envoyez un lien, des photos, du texte ou un message transféré pour commencer.\n"
        "/report — commencer un signalement\n"
        "/done — terminer l'ajout d'éléments\n"
        "/cancel — abandonner le signalement en cours\n"
        "/status REF — l'état d'un de vos signalements\n"
        "/mine — vos signalements\n"
        "/language — changer de langue\n"
        "/link CODE — agents : lier votre compte wildflag (en conversation privée)\n"
        "/unlink — agents : le délier ; vos signalements redeviennent anonymes\n"
        "/start — ce que fait ce bot, qui voit un signalement, l'anonymat"
    ),
    "report_begin": (
        "Envoyez l'annonce : un lien, des photos (en photo ou en fichier), son texte, ou "
        "transférez le message, dans n'importe quel ordre. Appuyez sur Terminé ensuite."
    ),
    "added_link": "Lien noté : {url}",
    "added_text": "Texte noté.",
    "added_photo": "Photo {count} ajoutée (au plus {max}).",
    "added_forward": "Message transféré noté.",
    "more_or_done": "Envoyez autre chose, ou appuyez sur Terminé.",
    "nothing_yet": (
        "Rien à envoyer pour l'instant : envoyez d'abord un lien, une photo ou du texte."
    ),
    "ask_country": (
        "Dans quel pays se trouve le vendeur ou l'annonce ? Envoyez un code à deux lettres "
        "(FR) ou un nom (France), ou appuyez sur Passer."
    ),
    "bad_country": (
        "Je ne connais pas le pays « {answer} ». Envoyez un code comme FR ou un nom, ou Passer."
    ),
    "ask_notes": "Quelque chose à signaler aux agents ? Envoyez une note, ou appuyez sur Passer.",
    "summary_title": "<b>Voici ce qui sera envoyé :</b>",
    "summary_link": "Lien : {url}",
    "summary_text": "Texte : {text}",
    "summary_text_cut": "Texte ({chars} caractères) : {text}…",
    "summary_photos": "Photos : {count}",
    "summary_country": "Pays : {country}",
    "summary_country_none": "Pays : non indiqué (le service le déterminera)",
    "summary_notes": "Notes : {notes}",
    "summary_to": (
        "<b>Destinataires</b> : le service wildflag à {service} ; les unités du pays concerné. "
        "Rien de votre compte Telegram n'est envoyé."
    ),
    "button_done": "Terminé",
    "button_cancel": "Annuler",
    "button_skip": "Passer",
    "button_confirm": "Confirmer et envoyer",
    "sending": "Envoi…",
    "cancelled": "Annulé. Rien n'a été envoyé.",
    "nothing_to_cancel": "Aucun signalement en cours.",
    "receipt_title": "<b>Signalement reçu.</b> Référence : <code>{reference}</code>",
    "receipt_species": "Reconnu : {species}",
    "receipt_no_species": "Aucune espèce inscrite reconnue : des agents l'examineront.",
    "receipt_priority": "Priorité : {priority}",
    "receipt_units": "Transmis aux unités : {units}",
    "receipt_link": "Suivi : {url}  (ou /status {reference})",
    "species_item": "{taxon} (Annexe {appendix} de la CITES)",
    "priority_critical": "critique (Annexe I)",
    "priority_high": "haute (Annexe II)",
    "priority_normal": "normale (Annexe III)",
    "priority_review": "à examiner",
    "queued": (
        "Le service wildflag est injoignable pour le moment. Votre signalement est conservé et "
        "sera envoyé automatiquement ; je vous donnerai sa référence dès qu'il sera parti."
    ),
    "queued_sent": "Votre signalement en attente a été transmis.",
    "rejected": "Le service a refusé ce signalement : {message}",
    "rejected_queued": "Le service a refusé un signalement en attente : {message}",
    "download_failed": (
        "Je n'ai pas pu récupérer une photo auprès de Telegram ; le signalement est conservé "
        "et sera réessayé."
    ),
    "rate_limited": (
        "Vous avez envoyé {limit} signalements dans l'heure, le maximum. Réessayez dans "
        "{minutes} min."
    ),
    "photo_too_big": (
        "Cette image fait {size} Mo ; la limite est {limit} Mo. Envoyez-en une plus petite."
    ),
    "too_many_photos": (
        "Un signalement contient au plus {max} photos ; celle-ci n'a pas été ajoutée."
    ),
    "not_image": (
        "Je n'accepte en fichier que des images (JPEG, PNG, WebP ou GIF). « {name} » est "
        "{kind} ; il n'a pas été ajouté."
    ),
    "unknown_command": "Commande inconnue {command}. /help donne la liste.",
    "text_hint": (
        "Pour signaler une annonce, envoyez un lien, une photo ou transférez le message, ou "
        "utilisez /report."
    ),
    "status_usage": "Envoyez /status suivi d'une référence, par ex. /status WF-7K3M-9QXD.",
    "status_not_yours": (
        "{reference} n'est pas un de vos signalements. Je ne montre que ceux envoyés depuis "
        "cette conversation."
    ),
    "status_title": "<b>{reference}</b> : {status}",
    "status_received": "Reçu : {date}",
    "status_unavailable": "Le service est injoignable pour le moment ; réessayez plus tard.",
    "status_queued": "en attente, pas encore envoyé",
    "mine_empty": "Aucun signalement pour l'instant. Envoyez un lien ou une photo pour commencer.",
    "mine_title": "<b>Vos signalements</b>",
    "mine_item": "<code>{reference}</code> — {status}, {priority}",
    "mine_queued": "(en attente, {count}) en attente du service",
    "language_choose": "Choisissez une langue :",
    "language_set": "Langue : français.",
    "language_unknown": "Je ne parle pas « {code} ». Disponibles : {available}.",
    "stale_button": "Ce bouton appartient à un signalement terminé.",
    "error": "Une erreur s'est produite de mon côté. Veuillez réessayer.",
    "link_usage": (
        "Agents : envoyez /link suivi du code donné par l'administrateur de votre unité, par "
        "ex. /link ABCDE-12345."
    ),
    "link_private_only": (
        "Envoyez /link en conversation privée avec moi, jamais dans un groupe. Tout le monde "
        "ici a vu ce code, il ne fonctionne donc plus : demandez-en un nouveau à "
        "l'administrateur de votre unité."
    ),
    "link_done": (
        "Compte lié : vous agissez en tant que <b>{name}</b> ({role}, unité {unit}). Vos "
        "signalements portent désormais votre identité et votre unité, et les boutons du "
        "groupe de votre unité agissent avec vos droits."
    ),
    "link_refused": "Compte non lié : {message}",
    "link_unavailable": "Ce bot ne peut pas lier de comptes : il n'a pas de jeton du service.",
    "unlink_done": "Compte délié. Vos signalements sont de nouveau anonymes.",
    "unlink_none": "Votre compte Telegram n'était pas lié.",
    "receipt_duplicate": "Déjà signalé : dossier {case}, signalé {count} fois.",
    "receipt_new_case": "Nouveau dossier {case}.",
    "summary_to_officer": (
        "<b>Destinataires</b> : le service wildflag à {service} ; les unités du pays concerné. "
        "Envoyé au nom de votre compte lié {name} (unité {unit})."
    ),
    "case_acknowledged": "Pris en compte par {name} à {time}",
    "case_assigned": "Attribué à {name} à {time}",
    "case_closed": "Clos ({outcome}) par {name} à {time}",
    "case_units": "Unités : {units}",
    "outcome_false_positive": "pas de faune ni de flore (faux positif)",
    "outcome_removed": "annonce retirée",
    "outcome_seized": "saisie",
    "outcome_no_offence": "pas d'infraction",
    "outcome_duplicate": "doublon",
    "toast_acknowledged": "Pris en compte.",
    "toast_assigned": "Attribué à vous.",
    "toast_closed": "Clos : pas de faune ni de flore.",
    "toast_rerouted": "Envoyé aussi à {unit}.",
    "toast_choose_unit": "Choisissez une unité, ou Autre unité… pour taper son code.",
    "button_other_unit": "Autre unité…",
    "button_back": "Retour",
    "ask_unit_code": (
        "{name}, répondez à ce message avec le code de l'unité à qui envoyer le dossier "
        "{case} (par ex. FR, COORD)."
    ),
    "rerouted": "Dossier {case} envoyé aussi à {unit}, par {name}.",
    "action_refused": "Refusé : {message}",
    "case_not_yours": "Refusé : le dossier {case} n'est pas confié à votre unité.",
    "action_unavailable": ("Le service wildflag est injoignable ; rien n'a changé. Réessayez."),
    "actions_unavailable": (
        "Ce bot ne peut pas agir sur les dossiers : il n'a pas de jeton du service."
    ),
}

ES = {
    "start": (
        "<b>wildflag</b> hace llegar las ofertas sospechosas de fauna y flora silvestres en "
        "internet (marfil, escamas de pangolín, cuerno de rinoceronte, loros y reptiles vivos, "
        "palo de rosa, orquídeas…) a las unidades nacionales que pueden actuar.\n\n"
        "<b>Para denunciar</b>, envíeme el anuncio: un enlace, fotos, el texto, o reenvíe el "
        "mensaje. Antes de enviar nada le muestro exactamente qué se enviará.\n\n"
        "<b>Quién ve una denuncia</b>: el servicio wildflag en {service}, y los agentes de las "
        "unidades del país al que concierne (una unidad coordinadora si no está claro).\n\n"
        "<b>Anonimato</b>: las denuncias son anónimas. No envío nada de su cuenta de Telegram "
        "(ni nombre, ni usuario, ni identificador) al servicio. Solo guardo su idioma y las "
        "referencias de sus denuncias, para /status y /mine."
    ),
    "help": (
        "Envíe un enlace, fotos, texto o un mensaje reenviado para empezar.\n"
        "/report — empezar una denuncia\n"
        "/done — terminar de añadir\n"
        "/cancel — descartar la denuncia en curso\n"
        "/status REF — el estado de una de sus denuncias\n"
        "/mine — sus denuncias\n"
        "/language — cambiar de idioma\n"
        "/link CODE — agentes: vincular su cuenta wildflag (en un chat privado)\n"
        "/unlink — agentes: desvincularla; sus denuncias vuelven a ser anónimas\n"
        "/start — qué hace este bot, quién ve una denuncia, el anonimato"
    ),
    "report_begin": (
        "Envíe el anuncio: un enlace, fotos (como fotos o archivos), su texto, o reenvíe el "
        "mensaje, en cualquier orden. Pulse Listo al terminar."
    ),
    "added_link": "Enlace anotado: {url}",
    "added_text": "Texto anotado.",
    "added_photo": "Foto {count} añadida (máximo {max}).",
    "added_forward": "Mensaje reenviado anotado.",
    "more_or_done": "Envíe más, o pulse Listo.",
    "nothing_yet": "Aún no hay nada que enviar: envíe primero un enlace, una foto o texto.",
    "ask_country": (
        "¿En qué país está el vendedor o el anuncio? Envíe un código de dos letras (ES) o un "
        "nombre (España), o pulse Omitir."
    ),
    "bad_country": "No conozco el país «{answer}». Envíe un código como ES o un nombre, u Omitir.",
    "ask_notes": "¿Algo que deban saber los agentes? Envíe una nota, o pulse Omitir.",
    "summary_title": "<b>Esto es lo que se enviará:</b>",
    "summary_link": "Enlace: {url}",
    "summary_text": "Texto: {text}",
    "summary_text_cut": "Texto ({chars} caracteres): {text}…",
    "summary_photos": "Fotos: {count}",
    "summary_country": "País: {country}",
    "summary_country_none": "País: no indicado (el servicio lo determinará)",
    "summary_notes": "Notas: {notes}",
    "summary_to": (
        "<b>Destinatarios</b>: el servicio wildflag en {service}; las unidades del país al que "
        "concierne. No se envía nada de su cuenta de Telegram."
    ),
    "button_done": "Listo",
    "button_cancel": "Cancelar",
    "button_skip": "Omitir",
    "button_confirm": "Confirmar y enviar",
    "sending": "Enviando…",
    "cancelled": "Cancelado. No se envió nada.",
    "nothing_to_cancel": "No hay ninguna denuncia en curso.",
    "receipt_title": "<b>Denuncia recibida.</b> Referencia: <code>{reference}</code>",
    "receipt_species": "Reconocido: {species}",
    "receipt_no_species": "No se reconoció ninguna especie incluida: los agentes la revisarán.",
    "receipt_priority": "Prioridad: {priority}",
    "receipt_units": "Enviada a las unidades: {units}",
    "receipt_link": "Seguimiento: {url}  (o /status {reference})",
    "species_item": "{taxon} (Apéndice {appendix} de la CITES)",
    "priority_critical": "crítica (Apéndice I)",
    "priority_high": "alta (Apéndice II)",
    "priority_normal": "normal (Apéndice III)",
    "priority_review": "por revisar",
    "queued": (
        "No se puede contactar con el servicio wildflag en este momento. Su denuncia se "
        "conserva y se enviará automáticamente; le daré su referencia cuando llegue."
    ),
    "queued_sent": "Su denuncia en espera se ha enviado.",
    "rejected": "El servicio rechazó esta denuncia: {message}",
    "rejected_queued": "El servicio rechazó una denuncia en espera: {message}",
    "download_failed": (
        "No pude obtener una foto de Telegram; la denuncia se conserva y se reintentará."
    ),
    "rate_limited": (
        "Ha enviado {limit} denuncias en la última hora, el máximo permitido. Inténtelo de "
        "nuevo en {minutes} min."
    ),
    "photo_too_big": "Esa imagen pesa {size} MB; el límite es {limit} MB. Envíe una más pequeña.",
    "too_many_photos": "Una denuncia admite como máximo {max} fotos; esa no se añadió.",
    "not_image": (
        "Como archivo solo acepto imágenes (JPEG, PNG, WebP o GIF). «{name}» es {kind}; no se "
        "añadió."
    ),
    "unknown_command": "Comando desconocido {command}. /help muestra lo que entiendo.",
    "text_hint": (
        "Para denunciar un anuncio, envíe un enlace, una foto o reenvíe el mensaje, o use /report."
    ),
    "status_usage": "Envíe /status seguido de una referencia, p. ej. /status WF-7K3M-9QXD.",
    "status_not_yours": (
        "{reference} no es una de sus denuncias. Solo muestro las enviadas desde este chat."
    ),
    "status_title": "<b>{reference}</b>: {status}",
    "status_received": "Recibida: {date}",
    "status_unavailable": "No se puede contactar con el servicio; inténtelo más tarde.",
    "status_queued": "en espera, aún no enviada",
    "mine_empty": "Aún no tiene denuncias. Envíe un enlace o una foto para empezar.",
    "mine_title": "<b>Sus denuncias</b>",
    "mine_item": "<code>{reference}</code> — {status}, {priority}",
    "mine_queued": "(en espera, {count}) esperando al servicio",
    "language_choose": "Elija un idioma:",
    "language_set": "Idioma: español.",
    "language_unknown": "No hablo «{code}». Disponibles: {available}.",
    "stale_button": "Ese botón pertenece a una denuncia ya terminada.",
    "error": "Algo falló de mi lado. Inténtelo de nuevo.",
    "link_usage": (
        "Agentes: envíe /link seguido del código que le dio el administrador de su unidad, "
        "p. ej. /link ABCDE-12345."
    ),
    "link_private_only": (
        "Envíeme /link en un chat privado, nunca en un grupo. Todos aquí vieron ese código, "
        "así que ya no sirve: pida uno nuevo al administrador de su unidad."
    ),
    "link_done": (
        "Cuenta vinculada: actúa como <b>{name}</b> ({role}, unidad {unit}). Sus denuncias "
        "llevan ahora su identidad y su unidad, y los botones del grupo de su unidad actúan "
        "con sus derechos."
    ),
    "link_refused": "Cuenta no vinculada: {message}",
    "link_unavailable": "Este bot no puede vincular cuentas: no tiene token del servicio.",
    "unlink_done": "Cuenta desvinculada. Sus denuncias vuelven a ser anónimas.",
    "unlink_none": "Su cuenta de Telegram no estaba vinculada.",
    "receipt_duplicate": "Ya denunciado: caso {case}, denunciado {count} veces.",
    "receipt_new_case": "Caso nuevo {case}.",
    "summary_to_officer": (
        "<b>Destinatarios</b>: el servicio wildflag en {service}; las unidades del país al que "
        "concierne. Enviada en nombre de su cuenta vinculada {name} (unidad {unit})."
    ),
    "case_acknowledged": "Recibido por {name} a las {time}",
    "case_assigned": "Asignado a {name} a las {time}",
    "case_closed": "Cerrado ({outcome}) por {name} a las {time}",
    "case_units": "Unidades: {units}",
    "outcome_false_positive": "no es fauna ni flora (falso positivo)",
    "outcome_removed": "anuncio retirado",
    "outcome_seized": "incautación",
    "outcome_no_offence": "sin infracción",
    "outcome_duplicate": "duplicado",
    "toast_acknowledged": "Recibido.",
    "toast_assigned": "Asignado a usted.",
    "toast_closed": "Cerrado: no es fauna ni flora.",
    "toast_rerouted": "Enviado también a {unit}.",
    "toast_choose_unit": "Elija una unidad, u Otra unidad… para escribir su código.",
    "button_other_unit": "Otra unidad…",
    "button_back": "Volver",
    "ask_unit_code": (
        "{name}, responda a este mensaje con el código de la unidad a la que enviar el caso "
        "{case} (p. ej. FR, COORD)."
    ),
    "rerouted": "Caso {case} enviado también a {unit}, por {name}.",
    "action_refused": "Rechazado: {message}",
    "case_not_yours": "Rechazado: el caso {case} no está con su unidad.",
    "action_unavailable": "No se puede contactar con el servicio; no cambió nada. Reinténtelo.",
    "actions_unavailable": "Este bot no puede actuar sobre casos: no tiene token del servicio.",
}

CATALOG: dict[str, dict[str, str]] = {"en": EN, "fr": FR, "es": ES}


def language_of(code: str | None) -> str:
    """The catalog language for a Telegram `language_code` such as "es-MX"; else English."""
    if code:
        short = code.split("-")[0].lower()
        if short in CATALOG:
            return short
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, **values: Any) -> str:
    """The message `key` in `lang` (English when missing), with values HTML-escaped."""
    template = CATALOG.get(lang, EN).get(key) or EN[key]
    return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
