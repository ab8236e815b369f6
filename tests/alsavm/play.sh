# The ALSA path in one boot of the VM (run.sh runs it in /host, its results kept there): the C
# floor, then jazzd over the real ALSA sequencer — internal clock, clock out, MIDI clock followed
# (with and without pre-roll, with lost ticks), keyboard chords, an unplugged synth — each judged
# by seqrecv, a C receiver that does nothing else. Both cores busy throughout (BUSY=0: idle).
# Every jazzd is stopped by SIGTERM to its whole process group, as systemd and Ctrl-C do.
set -u
JAZZD=(jazzd --model seed-metheny --seed 3)

busy() { for _ in 1 2; do nice -n 19 sh -c 'while :; do :; done' & done; }
[ "${BUSY:-1}" = 1 ] && busy

recv() {  # recv NAME: a receiver in the background; its pid in $RECV
    seqrecv -n "$1" -p in -r 10 -o "/host/$1.recv" & RECV=$!
    sleep 0.3
}
stop_group() {  # stop_group PID: SIGTERM to the process group PID leads; its exit code to /host/NAME.exit
    kill -TERM -- "-$1"; wait "$1"; echo $? > "/host/$2.exit"
}
tree_usage() {  # tree_usage PGID: "ticks rss_kb" summed over the group's processes
    local ticks=0 rss=0
    for p in $(pgrep -g "$1"); do
        read -r -a s < "/proc/$p/stat" && ticks=$((ticks + s[13] + s[14]))
        rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/$p/status")))
    done
    echo "$ticks $rss"
}

# 1. the floor: 100 notes from the C sender to the C receiver, on the same schedule as jazzd's
recv floor
seqsend -n fsend -d floor:0 -r 10 -e /host/notes.txt -o /host/floor.send
sleep 0.3; kill $RECV

# 2. jazzd on its own clock, 200 bpm; CPU and memory of its whole tree over 20 s
recv play
setsid "${JAZZD[@]}" --port play --bpm 200 --midi-log /host/play.jsonl 2> /host/play.err & J=$!
sleep 8
tree_usage $J > /host/play.usage; date +%s.%N >> /host/play.usage
sleep 20
tree_usage $J >> /host/play.usage; date +%s.%N >> /host/play.usage
stop_group $J play; sleep 0.3; kill $RECV

# 3. the clock floor and jazzd's clock out: a tune counted in, two choruses, ending by itself
recv cfloor
seqsend -n csend -d cfloor:0 -r 10 -b 200 -k 40 -s -S -o /host/cfloor.send
sleep 0.3; kill $RECV
recv tune
"${JAZZD[@]}" --port tune --tune /host/short.toml --choruses 2 --count-in 1 --clock-out \
    --midi-log /host/tune.jsonl 2> /host/tune.err
echo $? > /host/tune.exit
sleep 0.3; kill $RECV

# 4. MIDI clock followed from a C master: no pre-roll, two beats of pre-roll, 1% of ticks lost
follow() {  # follow NAME SEQSEND-OPTIONS...
    local name=$1; shift
    recv "$name"
    setsid "${JAZZD[@]}" --port "$name" --input "$name-drums" --clock midi --midi-log "/host/$name.jsonl" \
        2> "/host/$name.err" & J=$!
    seqsend -n "$name-drums" -W -w 1 -r 10 -b 200 -k 64 -s -S -o "/host/$name.send" "$@"
    sleep 1
    stop_group $J "$name"; sleep 0.3; kill $RECV
}
follow follow
follow preroll -P 2
follow drops -x 0.01 -X 7

# 5. keyboard chords: C7 held, then F#7 (the motif memory off: the path is judged here, not it)
recv keys
setsid "${JAZZD[@]}" --port keys --input keys-kb --bpm 200 --chords "| C7 |" --motifs 0 --midi-log /host/keys.jsonl \
    2> /host/keys.err & J=$!
seqsend -n keys-kb -W -w 3 -r 10 -e /host/chords.txt -T 8 -o /host/keys.send
stop_group $J keys; sleep 0.3; kill $RECV

# 6. the synth unplugged and plugged in again, three times (the receiver's client goes and comes)
seqrecv -n plug -p in -r 10 -o /host/plug.0.recv & RECV=$!
sleep 0.3
setsid "${JAZZD[@]}" --port plug --bpm 200 --midi-log /host/plug.jsonl 2> /host/plug.err & J=$!
sleep 8
for i in 1 2 3; do
    kill $RECV; wait $RECV 2>/dev/null
    sleep 1.5
    mono > "/host/plug.$i.at"
    seqrecv -n plug -p in -r 10 -o "/host/plug.$i.recv" & RECV=$!
    sleep 3
done
stop_group $J plug; sleep 0.3; kill $RECV

# 7. the JACK path in the same boot, for its CPU and memory beside ALSA's (2.): a dummy server,
# jack_midi_dump as the synth, jazzd's tree over 20 s
jackd -R -d dummy -r 48000 -p 64 > /dev/null 2>&1 & JACKD=$!
sleep 2
jack_midi_dump jsynth > /dev/null & DUMP=$!
sleep 1
setsid "${JAZZD[@]}" --midi-api jack --port jsynth --bpm 200 2> /host/jack.err & J=$!
sleep 8
tree_usage $J > /host/jack.usage; date +%s.%N >> /host/jack.usage
sleep 20
tree_usage $J >> /host/jack.usage; date +%s.%N >> /host/jack.usage
stop_group $J jack
kill $DUMP $JACKD
echo done > /host/play.done
