// Site-wide behaviour, loaded from static/ so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  // Offer images come from Allegro's image CDN; where it cannot be reached (an offline demo),
  // hide the broken image rather than show the browser's placeholder. Capture phase: image
  // errors do not bubble.
  document.addEventListener("error", function (event) {
    if (event.target instanceof HTMLImageElement) { event.target.hidden = true; }
  }, true);
})();
