// The login form posts the token once; the answer sets an HttpOnly session cookie. Nothing goes in a URL.
if (location.hash === '#refused') document.getElementById('refused').hidden = false;
