## Dates, in UTC.
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
datetime = { $day } { $month } { $year } at { $time } UTC
date = { $day } { $month } { $year }

## Every page.
site-title = Promotional lottery
footer = One draw per customer. Your personal link is yours alone: please do not share it.
na = N/A
na-reason = { $what } cannot be shown right now: { $reason }.

## The home page.
home-welcome = Welcome to our promotional lottery
home-how = To play, open the personal link we sent you by e-mail. It looks like { $example } and leads to your own page, where you can see whether you have played, press Play once, and discover your prize.
home-lost = Lost the e-mail? Please contact the shop's customer service.

## The customer's page.
page-title = Your draw
panel-identity = Identity
panel-status = Status
panel-play = Play
panel-picture = Picture
field-customer = Customer
field-firstname = First name
field-lastname = Last name
field-email = E-mail
what-details = Your details
what-status = Your status
what-picture = Your prize picture
notice-play-unavailable = Your draw could not start: the game is temporarily unavailable. Nothing was lost; please press Play again in a moment.
notice-identity-unavailable = Your draw could not start: we cannot confirm who you are right now. Nothing was lost; please press Play again in a moment.
status-not-played = You have not played yet.
status-failed-before = Your draw of { $date } could not complete and no prize was recorded; you can play again.
status-drawing = Drawing your prize…
status-drawing-since = You pressed Play on { $date }. This page refreshes by itself until your prize is known.
status-drawing-refresh = This page refreshes by itself until your prize is known.
status-won-prize = You won: { $prize }
status-won = You won.
status-won-on-pressed = Won on { $played } (you pressed Play on { $requested }).
status-won-on = Won on { $played }.
status-played = You have played.
status-no-prize = No prize this time.
campaign-not-started = The draw has not opened yet: it opens on { $date }.
campaign-over = The campaign is over: it ended on { $date }. Thank you for taking part!
play-button = Play
play-button-done = Already played
play-button-drawing = Drawing…
play-done = You have had your draw.
play-status-unknown = Play is disabled while your status cannot be checked.
play-unavailable = The game is temporarily unavailable: { $reason }.
play-identity-unknown = Play is disabled while we cannot confirm who you are.

## Pages that say something went wrong.
error-bad-link-title = This link is not valid
error-bad-id = { $detail }
error-bad-signature = { $detail }
error-bad-query = The address is malformed (a parameter is repeated or badly encoded).
error-use-your-link = Please open the link from your e-mail exactly as it was sent.
error-unknown-title = We do not know this link
error-unknown = No customer of the campaign matches this link.
error-unknown-hint = If you believe this is a mistake, please contact the shop's customer service.
error-unavailable-title = Temporarily unavailable
error-unavailable = The game is temporarily unavailable; please try again in a moment.
error-cross-site-title = Request refused
error-cross-site = This request came from another website, so it was not carried out. Nothing happened to your draw.
error-cross-site-hint = To play, open the link from your e-mail and press Play on that page.
error-rate-limited-title = Slow down a little
error-rate-limited = There were too many requests from your connection in a short time. Please wait { $seconds ->
    [one] { $seconds } second
   *[other] { $seconds } seconds
} and try again.
error-rate-limited-hint = Nothing was lost: your draw, if you pressed Play, is safe.
error-closed-title = The draw is closed
status-no-prize-pressed = Your draw of { $played } did not win a prize (you pressed Play on { $requested }). Thank you for taking part!
status-no-prize-of = Your draw of { $played } did not win a prize. Thank you for taking part!
# What the page says of a part it cannot show: the cause in English, a plain word elsewhere.
service-unavailable = { $detail }
picture-alt = Your prize: { $prize }
picture-alt-no-prize = No prize this time
picture-your-prize = your prize
picture-not-yet = Your prize picture is not available yet; it will appear here.
picture-no-prize = No prize this time: there is no prize picture to show.
picture-drawing = Your prize picture will appear here as soon as the draw ends.
picture-after-play = Your prize picture appears here once you have played.
picture-press-play = Press Play to discover your prize.
page-not-found-title = Page not found
page-not-found = There is nothing at this address.
page-not-found-hint = To play, open the personal link from your e-mail.
error-unavailable-detail = { $detail }; please try again in a moment.

## The winner mail, to the admins.
winner-subject = Winner: { $name } (customer { $id }) won { $prize }
winner-intro = A customer won a prize in the promotional lottery.
winner-customer-id = Customer id
winner-name = Name
winner-email = E-mail
winner-prize = Prize
winner-played = Played at
winner-requested = Requested
winner-footer = This message is sent once per winner; its Message-ID is { $message_id }.
