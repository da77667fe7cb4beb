#!/usr/bin/env python
"""Render the real-music clips shipped in `stylus/data/`.

The same public-domain passage -- the first two phrases of J.S. Bach's four-part chorale BWV 66.6 from
music21's corpus (quarter-note offsets 0 to 20 at its playback tempo of 96 bpm, about 12.5 s) -- is written to
MIDI with every part set to one General MIDI instrument and rendered with Debian's `fluidsynth` and the
FluidR3 General MIDI soundfont (MIT licence). The clips therefore share melody, harmony and rhythm and differ
only in timbre: content, style and the ground truth of a transfer. Each clip is trimmed of leading and trailing
silence, peak-normalised to -3 dBFS and written as 16-bit FLAC with a `clips.json` manifest.

Usage (from the repository root; needs `music21` and the `fluidsynth` program):

    python scripts/render_clips.py [--out stylus/data] [--soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2]
"""
import argparse, json, shutil, subprocess, tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from music21 import corpus, instrument, midi, note, stream

SCORE = 'bach/bwv66.6'  # music21 corpus id
END = 20.0              # quarter-note offset where the passage ends (the second fermata's release)
PEAK_DB = -3.0          # peak level of every clip, dBFS
SILENCE_DB = -60.0      # trimming threshold relative to the peak

# (file, music21 instrument class, sample rate, channels)
CLIPS = [
    ('bach_piano.flac',         instrument.Piano,    44100, 1),
    ('bach_violin.flac',        instrument.Violin,   44100, 1),
    ('bach_clarinet.flac',      instrument.Clarinet, 44100, 1),
    ('bach_flute.flac',         instrument.Flute,    44100, 1),
    ('bach_piano_stereo48k.flac', instrument.Piano,  48000, 2),
]
PANS = [24, 48, 80, 104]  # MIDI pan (0 left .. 127 right) of soprano, alto, tenor, bass in the stereo clip


def passage(score_id=SCORE, end=END):
    "The score's parts cut to notes that start before `end` quarters, with instruments removed."
    score = corpus.parse(score_id)
    out = stream.Score()
    for part in score.parts:
        flat = part.flatten()
        keep = stream.Part(id=part.id)
        for el in flat:
            if isinstance(el, instrument.Instrument): continue
            if isinstance(el, note.GeneralNote) and el.offset >= end: continue
            keep.insert(el.offset, el)
        out.insert(0, keep)
    return out


def to_midi(score, inst_cls, path, pans=None):
    "Write `score` to MIDI with every part played by `inst_cls`, optionally panning part i to `pans[i]`."
    for part in score.parts:
        for old in list(part.getElementsByClass(instrument.Instrument)): part.remove(old)
        part.insert(0, inst_cls())
    mf = midi.translate.streamToMidiFile(score)
    if pans is not None:
        tracks = [t for t in mf.tracks if any(e.channel is not None and e.isNoteOn() for e in t.events)]
        for track, pan in zip(tracks, pans):
            ch = next(e.channel for e in track.events if e.isNoteOn())
            dt = midi.DeltaTime(track, time=0, channel=ch)
            cc = midi.MidiEvent(track, type=midi.ChannelVoiceMessages.CONTROLLER_CHANGE, channel=ch)
            cc.parameter1, cc.parameter2 = 10, pan
            track.events[0:0] = [dt, cc]
    mf.open(str(path), 'wb'); mf.write(); mf.close()


def render(mid, wav, sf2, rate):
    "Render `mid` to a float stereo WAV at `rate` with fluidsynth (reverb and chorus on, their defaults)."
    subprocess.run(['fluidsynth', '-q', '-ni', '-g', '0.5', '-r', str(rate), '-T', 'wav', '-O', 'float',
                    '-F', str(wav), str(sf2), str(mid)], check=True, capture_output=True)
    audio, sr = sf.read(wav, dtype='float32', always_2d=True)
    assert sr == rate, (sr, rate)
    return audio.T  # (channels, samples)


def finish(audio, channels, peak_db=PEAK_DB, silence_db=SILENCE_DB, fade_s=0.01, rate=44100):
    "Downmix to `channels`, trim silence at both ends, fade the edges by `fade_s`, normalise the peak."
    if channels == 1: audio = audio.mean(0, keepdims=True)
    env = np.abs(audio).max(0)
    loud = np.flatnonzero(env > env.max() * 10 ** (silence_db / 20))
    audio = audio[:, loud[0]:loud[-1] + 1].copy()
    n = int(fade_s * rate)
    ramp = np.linspace(0, 1, n, dtype=np.float32)
    audio[:, :n] *= ramp; audio[:, -n:] *= ramp[::-1]
    return (audio * (10 ** (peak_db / 20) / np.abs(audio).max())).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=str(Path(__file__).resolve().parents[1] / 'stylus' / 'data'))
    ap.add_argument('--soundfont', default='/usr/share/sounds/sf2/FluidR3_GM.sf2')
    args = ap.parse_args()
    if shutil.which('fluidsynth') is None: raise SystemExit('fluidsynth not found: apt-get install fluidsynth')
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for fname, inst_cls, rate, channels in CLIPS:
            mid, wav = Path(tmp) / 'x.mid', Path(tmp) / 'x.wav'
            to_midi(passage(), inst_cls, mid, pans=PANS if channels == 2 else None)
            audio = finish(render(mid, wav, args.soundfont, rate), channels, rate=rate)
            sf.write(out / fname, audio.T, rate, subtype='PCM_16')
            inst = inst_cls()
            manifest.append(dict(
                file=fname, instrument=inst.instrumentName.lower(), gm_program=inst.midiProgram,
                source=f'music21 corpus {SCORE} (J.S. Bach, chorale BWV 66.6), quarter offsets 0-{END:g} at 96 bpm',
                soundfont=Path(args.soundfont).name, rate=rate, channels=channels,
                duration=round(audio.shape[1] / rate, 3), peak_dbfs=PEAK_DB,
                stereo='parts panned soprano left to bass right' if channels == 2 else None))
            print(f'{fname}: {audio.shape[1] / rate:.2f} s, {channels} ch, {rate} Hz, '
                  f'{(out / fname).stat().st_size / 1e6:.2f} MB')
    (out / 'clips.json').write_text(json.dumps(manifest, indent=1) + '\n')


if __name__ == '__main__': main()
