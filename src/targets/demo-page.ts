// The small demo page each target serves at GET /: plain HTML and inline JS of our own (no
// network beyond one WebSocket: to the same server, or to the URL in `?ws=`), so a person can
// poke a target by hand and a browser test can drive it. Everything shown from frames goes
// through textContent.

import type { TargetName } from './types.js';

const BLURB: Record<TargetName, string> = {
  echo: 'Every frame you send comes back as it was sent.',
  chat: 'Join a room, then every line you send is broadcast to everyone in that room (you included).',
  feed: 'The server pushes a tick to you several times a second; text you send is echoed.',
};

export function renderDemoPage(name: TargetName): string {
  const chat = name === 'chat';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>volley target: ${name}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 60rem; }
form, .row { display: flex; gap: .5rem; margin: .5rem 0; flex-wrap: wrap; }
input[type=text] { flex: 1; min-width: 10rem; padding: .3rem; }
#status { font-weight: bold; }
#frames { list-style: none; padding: 0; font-family: ui-monospace, monospace; font-size: 13px; }
#frames li { padding: .15rem .4rem; border-bottom: 1px solid #eee; white-space: pre-wrap; word-break: break-all; }
#frames li.sent { background: #eef6ff; }
#frames li.received { background: #f0fff0; }
#frames li.event { color: #666; font-style: italic; }
#frames .dir { display: inline-block; width: 5.5rem; font-weight: bold; }
</style>
</head>
<body>
<h1>volley target: ${name}</h1>
<p>${BLURB[name]} Over long-poll, the same app answers under <code>/lp</code>.</p>
<p>Status: <span id="status">connecting</span></p>
${
  chat
    ? `<form id="join-form">
<input id="room" type="text" value="lobby" aria-label="room">
<input id="user" type="text" value="guest" aria-label="user">
<button id="join" type="submit">Join</button>
</form>`
    : ''
}
<form id="send-form">
<input id="text" type="text" autocomplete="off" aria-label="frame to send" placeholder="${chat ? 'say something' : 'frame to send'}">
<button id="send" type="submit">Send</button>
<button id="close" type="button">Close</button>
<button id="connect" type="button">Reconnect</button>
</form>
<ul id="frames"></ul>
<script>
"use strict";
(function () {
  var CHAT = ${chat ? 'true' : 'false'};
  var MAX_ROWS = 200;
  var ws = null;
  var statusEl = document.getElementById('status');
  var list = document.getElementById('frames');
  function row(kind, label, text) {
    var li = document.createElement('li');
    li.className = kind;
    var dir = document.createElement('span');
    dir.className = 'dir';
    dir.textContent = label;
    li.appendChild(dir);
    li.appendChild(document.createTextNode(text));
    list.insertBefore(li, list.firstChild);
    while (list.childNodes.length > MAX_ROWS) list.removeChild(list.lastChild);
  }
  function describe(data) {
    if (typeof data === 'string') return data;
    return '[binary ' + data.byteLength + ' bytes]';
  }
  function connect() {
    if (ws && ws.readyState <= 1) return;
    // ?ws=ws://HOST:PORT/ points the page elsewhere (at \`volley record\`'s proxy, say);
    // only ws:// and wss:// URLs are taken, anything else falls back to this server.
    var asked = new URLSearchParams(location.search).get('ws');
    var url = asked && (asked.indexOf('ws://') === 0 || asked.indexOf('wss://') === 0)
      ? asked
      : (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    statusEl.textContent = 'connecting';
    ws.onopen = function () { statusEl.textContent = 'open'; row('event', 'open', url); };
    ws.onmessage = function (ev) { row('received', 'received', describe(ev.data)); };
    ws.onclose = function (ev) {
      statusEl.textContent = 'closed';
      row('event', 'closed', 'code ' + ev.code + (ev.reason ? ' ' + ev.reason : ''));
    };
  }
  function send(frame) {
    if (!ws || ws.readyState !== 1) { row('event', 'not sent', 'the connection is not open'); return; }
    ws.send(frame);
    row('sent', 'sent', frame);
  }
  document.getElementById('send-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var input = document.getElementById('text');
    var text = input.value;
    if (CHAT) send(JSON.stringify({ type: 'say', text: text, sentAt: Date.now() }));
    else send(text);
    input.value = '';
  });
  if (CHAT) {
    document.getElementById('join-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      send(JSON.stringify({
        type: 'join',
        room: document.getElementById('room').value,
        user: document.getElementById('user').value
      }));
    });
  }
  document.getElementById('close').addEventListener('click', function () { if (ws) ws.close(1000, 'closed from the page'); });
  document.getElementById('connect').addEventListener('click', connect);
  connect();
  if (CHAT) {
    // Join the default room as soon as the connection opens, as the brief's page does.
    ws.addEventListener('open', function () { document.getElementById('join').click(); });
  }
})();
</script>
</body>
</html>
`;
}
