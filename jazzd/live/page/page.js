// jazzd's page: draws the state jazzd publishes (Server-Sent Events) and posts requests as
// JSON to this same origin; jazzd acts on them as on the keyboard's.
"use strict";

const $ = (id) => document.getElementById(id);
let state = {};
let drawnBars = null;

function post(kind, value) {
  return fetch("/api/" + kind, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ value: value }),
    credentials: "same-origin",
  });
}

function drawChart(bars) {
  const chart = $("chart");
  chart.replaceChildren(...bars.map((chords, i) => {
    const li = document.createElement("li");
    li.textContent = chords.join("  ");
    li.dataset.bar = i;
    return li;
  }));
  drawnBars = bars;
}

function draw(s) {
  state = s;
  $("tune").textContent = s.tune;
  $("tempo").textContent = s.tempo;
  $("mode").textContent = s.mode;
  $("playing").textContent = s.playing ? "playing" : "stopped";
  $("start-stop").textContent = s.playing ? "Stop" : "Start";
  $("chord").textContent = s.chord || "the chart's chords";
  $("output").textContent = s.output.name + (s.output.ok ? "" : " (lost: reconnecting)");
  $("input").textContent = s.input || "none";
  $("clock").textContent = s.clock;
  $("knobs").textContent = Object.entries(s.knobs).map(([k, v]) => k + " " + v).join(" · ");
  if (document.activeElement !== $("mode-select")) $("mode-select").value = s.mode;
  if (document.activeElement !== $("bpm")) $("bpm").value = Math.round(s.tempo);
  const select = $("setlist");
  if (select.options.length !== s.setlist.length || document.activeElement !== select) {
    select.replaceChildren(...s.setlist.map((title, i) => new Option((i + 1) + ". " + title, i)));
    if (s.current !== null) select.value = s.current;
  }
  if (JSON.stringify(s.bars) !== JSON.stringify(drawnBars)) drawChart(s.bars);
  const lit = document.querySelector("#chart li.now");
  if (lit && Number(lit.dataset.bar) !== s.bar) lit.classList.remove("now");
  if (s.bar !== null) {
    const li = $("chart").children[s.bar];
    if (li && !li.classList.contains("now")) {
      li.classList.add("now");
      li.scrollIntoView({ block: "nearest" });
    }
  }
  document.body.dataset.bar = s.bar === null ? "" : s.bar;
}

function connect() {
  const events = new EventSource("/events");
  events.onopen = () => { $("link").hidden = true; };
  events.onmessage = (e) => draw(JSON.parse(e.data));
  events.onerror = () => { $("link").hidden = false; };
}

$("call").onclick = () => post("call", Number($("setlist").value));
$("next").onclick = () => post("step", 1);
$("previous").onclick = () => post("step", -1);
$("set-tempo").onclick = () => post("tempo", Number($("bpm").value));
$("mode-select").onchange = () => post("mode", $("mode-select").value);
$("start-stop").onclick = () => post("start_stop", state.playing ? 0 : 127);
$("panic").onclick = () => post("panic", 127);
if (location.search.includes("token=")) history.replaceState(null, "", "/");
connect();
