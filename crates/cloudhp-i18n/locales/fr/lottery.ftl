## Dates, en UTC.
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre
datetime = { $day } { $month } { $year } à { $time } UTC
date = { $day } { $month } { $year }

## Toutes les pages.
site-title = Grand jeu
footer = Un tirage par client. Votre lien personnel n'appartient qu'à vous : merci de ne pas le partager.
na = Indisponible
na-reason = { $what } ne peut pas être affiché pour le moment : { $reason }.

## La page d'accueil.
home-welcome = Bienvenue à notre grand jeu
home-how = Pour jouer, ouvrez le lien personnel que nous vous avons envoyé par e-mail. Il ressemble à { $example } et mène à votre page, où vous voyez si vous avez joué, appuyez une fois sur Jouer et découvrez votre lot.
home-lost = Vous avez perdu l'e-mail ? Contactez le service client de la boutique.

## La page du client.
page-title = Votre tirage
panel-identity = Identité
panel-status = Statut
panel-play = Jouer
panel-picture = Image
field-customer = Client
field-firstname = Prénom
field-lastname = Nom
field-email = E-mail
what-details = Vos coordonnées
what-status = Votre statut
what-picture = L'image de votre lot
notice-play-unavailable = Votre tirage n'a pas pu commencer : le jeu est momentanément indisponible. Rien n'est perdu ; appuyez de nouveau sur Jouer dans un instant.
notice-identity-unavailable = Votre tirage n'a pas pu commencer : nous ne pouvons pas confirmer votre identité pour le moment. Rien n'est perdu ; appuyez de nouveau sur Jouer dans un instant.
status-not-played = Vous n'avez pas encore joué.
status-failed-before = Votre tirage du { $date } n'a pas pu aboutir et aucun lot n'a été enregistré ; vous pouvez rejouer.
status-drawing = Tirage de votre lot en cours…
status-drawing-since = Vous avez appuyé sur Jouer le { $date }. Cette page se met à jour toute seule jusqu'à ce que votre lot soit connu.
status-drawing-refresh = Cette page se met à jour toute seule jusqu'à ce que votre lot soit connu.
status-won-prize = Vous avez gagné : { $prize }
status-won = Vous avez gagné.
status-won-on-pressed = Gagné le { $played } (vous avez appuyé sur Jouer le { $requested }).
status-won-on = Gagné le { $played }.
status-played = Vous avez joué.
status-no-prize = Pas de lot cette fois-ci.
campaign-not-started = Le tirage n'est pas encore ouvert : il ouvre le { $date }.
campaign-over = Le jeu est terminé : il a pris fin le { $date }. Merci d'avoir participé !
play-button = Jouer
play-button-done = Déjà joué
play-button-drawing = Tirage en cours…
play-done = Vous avez eu votre tirage.
play-status-unknown = Le bouton Jouer est désactivé tant que votre statut ne peut pas être vérifié.
play-unavailable = Le jeu est momentanément indisponible : { $reason }.
play-identity-unknown = Le bouton Jouer est désactivé tant que nous ne pouvons pas confirmer votre identité.

## Les pages qui signalent un problème.
error-bad-link-title = Ce lien n'est pas valide
error-bad-id = Le numéro de client de ce lien n'est pas valide.
error-bad-signature = Ce lien a été modifié ou est incomplet.
error-bad-query = L'adresse est mal formée (un paramètre est répété ou mal encodé).
error-use-your-link = Ouvrez le lien de votre e-mail exactement tel qu'il a été envoyé.
error-unknown-title = Nous ne connaissons pas ce lien
error-unknown = Aucun client du jeu ne correspond à ce lien.
error-unknown-hint = Si vous pensez qu'il s'agit d'une erreur, contactez le service client de la boutique.
error-unavailable-title = Momentanément indisponible
error-unavailable = Le jeu est momentanément indisponible ; réessayez dans un instant.
error-cross-site-title = Requête refusée
error-cross-site = Cette requête venait d'un autre site, elle n'a donc pas été exécutée. Votre tirage n'a pas été touché.
error-cross-site-hint = Pour jouer, ouvrez le lien de votre e-mail et appuyez sur Jouer sur cette page.
error-rate-limited-title = Un peu de patience
error-rate-limited = Votre connexion a envoyé trop de requêtes en peu de temps. Attendez { $seconds ->
    [one] { $seconds } seconde
   *[other] { $seconds } secondes
} puis réessayez.
error-rate-limited-hint = Rien n'est perdu : votre tirage, si vous avez appuyé sur Jouer, est en sécurité.
error-closed-title = Le tirage est fermé
status-no-prize-pressed = Votre tirage du { $played } n'a pas gagné de lot (vous avez appuyé sur Jouer le { $requested }). Merci d'avoir participé !
status-no-prize-of = Votre tirage du { $played } n'a pas gagné de lot. Merci d'avoir participé !
service-unavailable = service momentanément indisponible
picture-alt = Votre lot : { $prize }
picture-alt-no-prize = Pas de lot cette fois-ci
picture-your-prize = votre lot
picture-not-yet = L'image de votre lot n'est pas encore disponible ; elle apparaîtra ici.
picture-no-prize = Pas de lot cette fois-ci : il n'y a pas d'image de lot à montrer.
picture-drawing = L'image de votre lot apparaîtra ici dès la fin du tirage.
picture-after-play = L'image de votre lot apparaît ici une fois que vous avez joué.
picture-press-play = Appuyez sur Jouer pour découvrir votre lot.
page-not-found-title = Page introuvable
page-not-found = Il n'y a rien à cette adresse.
page-not-found-hint = Pour jouer, ouvrez le lien personnel de votre e-mail.
error-unavailable-detail = Le jeu est momentanément indisponible ; réessayez dans un instant.

## Le message du gagnant, aux administrateurs.
winner-subject = Gagnant : { $name } (client { $id }) a gagné { $prize }
winner-intro = Un client a gagné un lot au grand jeu.
winner-customer-id = N° client
winner-name = Nom
winner-email = E-mail
winner-prize = Lot
winner-played = Tiré le
winner-requested = Demandé le
winner-footer = Ce message est envoyé une seule fois par gagnant ; son Message-ID est { $message_id }.
