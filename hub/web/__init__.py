"""Pages the hub serves without a build step: the duty officer's alarm board, the worker's phone
page (a PWA), the login page; plain HTML, JavaScript and CSS under `static/`, text from `i18n`."""
