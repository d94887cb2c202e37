// SPDX-License-Identifier: GPL-3.0-or-later
// The RSVP page works without this script. With it, the "seats left"
// figure stays current. The figure comes from a seats feed with a
// start(onUpdate) / stop() pair: the live one listens on the page's
// WebSocket, /r/<token>/live, which says {"type":"seats","seats_left":N}
// whenever the number changes; when no WebSocket can be had (an old
// browser, a proxy that refuses the upgrade, too many pages open from one
// address) it polls GET /r/<token>/seats instead, and tries the WebSocket
// again later.
'use strict';

(function () {
  const POLL_MS = 5000;
  const MAX_BACKOFF_MS = 60000;
  const LIVE_RETRY_MS = 30000;

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

  function LiveSeatsFeed(liveUrl, fallback, onMode) {
    let socket = null;
    let retry = null;
    let stopped = true;
    let retryDelay = LIVE_RETRY_MS;

    function useFallback(onUpdate) {
      onMode('polling');
      fallback.start(onUpdate);
      // The WebSocket may work again later (a restarted server, a page closed elsewhere).
      retry = setTimeout(() => {
        retry = null;
        if (!stopped)
          open(onUpdate);
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, MAX_BACKOFF_MS * 5);
    }

    function open(onUpdate) {
      if (typeof WebSocket !== 'function') {
        onMode('polling');
        fallback.start(onUpdate);
        return;
      }
      try {
        socket = new WebSocket(liveUrl);
      } catch (e) {
        socket = null;
        useFallback(onUpdate);
        return;
      }
      let worked = false;
      socket.addEventListener('message', (event) => {
        let message = null;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (message && message.type === 'seats' && typeof message.seats_left === 'number') {
          if (!worked) {
            worked = true;
            retryDelay = LIVE_RETRY_MS;
            fallback.stop();
            onMode('live');
          }
          onUpdate(message.seats_left);
        }
      });
      socket.addEventListener('close', () => {
        socket = null;
        if (!stopped)
          useFallback(onUpdate);
      });
    }

    return {
      start(onUpdate) {
        if (!stopped)
          return;
        stopped = false;
        open(onUpdate);
      },
      stop() {
        stopped = true;
        if (retry !== null)
          clearTimeout(retry);
        retry = null;
        fallback.stop();
        if (socket !== null)
          socket.close(1000);
        socket = null;
      },
    };
  }

  function liveUrlFor(seatsUrl) {
    const url = new URL(seatsUrl.replace(/\/seats$/, '/live'), document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
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
    const feed = LiveSeatsFeed(liveUrlFor(figure.dataset.seatsUrl),
                               PollingSeatsFeed(figure.dataset.seatsUrl),
                               (mode) => { figure.dataset.feed = mode; });

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
