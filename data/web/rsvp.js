// SPDX-License-Identifier: GPL-3.0-or-later
// The RSVP page works without this script. With it, the "seats left"
// figure stays current. The figure comes from a SeatsFeed; today it polls
// GET /r/<token>/seats, and the WebSocket live feed can replace it by
// providing the same start(onUpdate) / stop() pair.
'use strict';

(function () {
  const POLL_MS = 5000;
  const MAX_BACKOFF_MS = 60000;

  function PollingSeatsFeed(url) {
    let timer = null;
    let delay = POLL_MS;
    let stopped = true;

    async function poll(onUpdate) {
      timer = null;
      try {
        const response = await fetch(url, {
          headers: { 'Accept': 'application/json' },
          cache: 'no-store',
          credentials: 'omit',
          referrerPolicy: 'no-referrer',
        });
        if (!response.ok)
          throw new Error('HTTP ' + response.status);
        const body = await response.json();
        if (typeof body.seats_left === 'number')
          onUpdate(body.seats_left);
        delay = POLL_MS;
      } catch (e) {
        // A link that stopped working stays quiet; a hiccup backs off.
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
      if (!stopped)
        timer = setTimeout(() => poll(onUpdate), delay);
    }

    return {
      start(onUpdate) {
        if (!stopped)
          return;
        stopped = false;
        poll(onUpdate);
      },
      stop() {
        stopped = true;
        if (timer !== null)
          clearTimeout(timer);
        timer = null;
      },
    };
  }

  function formatNumber(n, separator) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, separator);
  }

  function setUp() {
    const figure = document.getElementById('seats-left');
    if (!figure || !figure.dataset.seatsUrl)
      return;
    const fullNote = document.getElementById('seats-full-note');
    const separator = figure.dataset.thousandsSeparator || ',';
    const feed = PollingSeatsFeed(figure.dataset.seatsUrl);

    function show(seatsLeft) {
      const text = formatNumber(seatsLeft, separator);
      if (figure.textContent !== text) {
        figure.textContent = text;
        figure.classList.remove('changed');
        void figure.offsetWidth;
        figure.classList.add('changed');
      }
      if (fullNote)
        fullNote.hidden = seatsLeft > 0;
      figure.dataset.seatsLeft = String(seatsLeft);
    }

    feed.start(show);
    document.addEventListener('visibilitychange', () => {
      if (document.hidden)
        feed.stop();
      else
        feed.start(show);
    });

    // Party size means nothing when declining.
    const party = document.getElementById('party-size');
    const decline = document.getElementById('response-decline');
    if (party && decline) {
      const update = () => { party.disabled = decline.checked; };
      document.querySelectorAll('input[name="response"]').forEach(
        (input) => input.addEventListener('change', update));
      update();
    }

    // After an answer, the notice gets the focus, so that it is read out.
    const notice = document.getElementById('notice');
    if (notice)
      notice.focus();
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', setUp);
  else
    setUp();
})();
