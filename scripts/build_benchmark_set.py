#!/usr/bin/env python
"""Build the evaluation benchmark set: rendered (content, style, ground truth, score) triplets.

Each piece is a public-domain J.S. Bach chorale from music21's corpus. Its passage -- `--seconds` long at
`--bpm`, from the downbeat of its first full bar (after any pickup), ties merged, notes cut at the end -- is
written to MIDI once per instrument (every part on one General MIDI program) and rendered with the `fluidsynth`
program and a General MIDI soundfont (default: Debian's `fluid-soundfont-gm`, FluidR3_GM, MIT licence). The
renders of one piece therefore share notes and timing exactly and differ only in timbre. A row of the manifest is

    content      = piece A on instrument X
    style        = piece B (the next piece) on instrument Y
    ground_truth = piece A on instrument Y          (what a perfect transfer of content to style would give)
    score        = piece A's passage as MIDI        (the rendered notes, same timing; piano program)

and `unrelated.csv` pairs each row's content with piece C (a third piece) on the ground truth's instrument Y
and on the content's instrument X, for the harness's self-tests (an oracle must beat an unrelated piece).
Audio is mono 16-bit FLAC, exactly `--seconds` long, peak-normalised to -3 dBFS. Stylus resamples to 44.1 kHz
itself; the default 22.05 kHz keeps everything below its mel ceiling of 10 kHz at half the size.
Re-running with the same options gives byte-identical files.

Usage (from the repository root; needs `music21`, `soundfile` and the `fluidsynth` program):

    python scripts/build_benchmark_set.py                      # the shipped set in stylus/data/benchset
    python scripts/build_benchmark_set.py --out /tmp/big --pieces 12 --instruments piano violin cello flute oboe --pairs all
"""
import argparse, copy, csv, io, os, shutil, sys, tempfile, time
from pathlib import Path

import numpy as np

DEFAULT_PIECES = ['bach/bwv347', 'bach/bwv153.1', 'bach/bwv86.6', 'bach/bwv267']  # then sorted corpus chorales
INSTRUMENTS = dict(  # name -> music21 instrument class name (its General MIDI program)
    piano='Piano', violin='Violin', clarinet='Clarinet', flute='Flute', trumpet='Trumpet', cello='Violoncello',
    guitar='AcousticGuitar', oboe='Oboe', viola='Viola', horn='Horn', bassoon='Bassoon', organ='PipeOrgan')
DEFAULT_INSTRUMENTS = ['piano', 'violin', 'clarinet', 'flute']
SOUNDFONT = '/usr/share/sounds/sf2/FluidR3_GM.sf2'
PEAK_DB = -3.0   # peak level of every file, dBFS
FADE_S = 0.01    # fade-out at the cut end, seconds
MANIFEST_COLUMNS = ['id', 'content', 'style', 'ground_truth', 'score', 'style_label']
UNRELATED_COLUMNS = ['id', 'content', 'unrelated', 'unrelated_label', 'unrelated_content_instrument']


def fail(msg):
    "Stop with one line saying what is wrong and what to do, exit status 2."
    print(f'build_benchmark_set: {msg}', file=sys.stderr)
    raise SystemExit(2)


def check_tools(soundfont):
    "Fail with one clear line when music21, soundfile, fluidsynth or the soundfont is missing."
    for mod in ('music21', 'soundfile'):
        try: __import__(mod)
        except ImportError: fail(f'the Python package {mod} is missing; install it with: pip install {mod}')
    if shutil.which('fluidsynth') is None:
        fail('the fluidsynth program is missing; install it with: apt-get install fluidsynth')
    if not Path(soundfont).is_file():
        fail(f'the soundfont {soundfont} does not exist; install it with: apt-get install fluid-soundfont-gm, '
             'or pass --soundfont PATH to a General MIDI .sf2 file')


def piece_id(piece):
    "A file-name id for a corpus path: 'bach/bwv153.1' -> 'bwv153_1'."
    return Path(piece).name.split('.mxl')[0].replace('.', '_')


def passage(piece, quarters, bpm):
    "`quarters` quarter notes of corpus `piece` from its first full bar, shifted to 0, at `bpm`; None if too short."
    from music21 import corpus, note, stream, tempo
    score = corpus.parse(piece)
    bars = [m for m in score.parts[0].getElementsByClass('Measure') if m.number >= 1]
    if not bars: return None
    t0 = bars[0].offset
    if score.highestTime < t0 + quarters: return None
    out = stream.Score()
    for i, part in enumerate(score.parts):
        keep = stream.Part(id=part.id)
        if i == 0: keep.insert(0, tempo.MetronomeMark(number=bpm))
        for n in part.stripTies().flatten().getElementsByClass(note.Note):
            if not t0 <= n.offset < t0 + quarters: continue
            new = note.Note(n.pitch, quarterLength=min(n.quarterLength, t0 + quarters - n.offset))
            keep.insert(n.offset - t0, new)
        out.insert(0, keep)
    return out


def note_events(path):
    "The (tick, on/off, pitch, velocity) note events of a MIDI file, sorted: what a render plays, program aside."
    from music21 import midi
    mf = midi.MidiFile(); mf.open(str(path)); mf.read(); mf.close()
    events = []
    for track in mf.tracks:
        tick = 0
        for e in track.events:
            if isinstance(e, midi.DeltaTime): tick += e.time
            elif e.isNoteOn() or e.isNoteOff():
                events.append((tick, bool(e.isNoteOn()), e.pitch, e.velocity if e.isNoteOn() else 0))
    return sorted(events)


def finish(audio, rate, seconds):
    "Downmix to mono, cut or pad to exactly `seconds`, fade the cut end, normalise the peak to PEAK_DB."
    n = int(round(seconds * rate))
    mono = audio.mean(0)[:n]
    mono = np.pad(mono, (0, n - len(mono)))
    k = int(FADE_S * rate)
    mono[-k:] *= np.linspace(1, 0, k, dtype=np.float32)
    return (mono * (10 ** (PEAK_DB / 20) / np.abs(mono).max())).astype(np.float32)


def candidate_pieces():
    "The default pieces, then every other Bach chorale in music21's corpus, in a fixed order."
    from music21 import corpus
    rest = sorted({f'bach/{Path(str(p)).name.rsplit(".", 1)[0]}' for p in corpus.getComposer('bach')
                   if Path(str(p)).name.startswith('bwv')})
    return DEFAULT_PIECES + [p for p in rest if p not in DEFAULT_PIECES]


def row_pairs(n_inst, i, pairs):
    "Instrument index pairs (content X, target Y) for piece `i`: all ordered pairs, or one Y per X rotating with i."
    if pairs == 'all': return [(x, y) for x in range(n_inst) for y in range(n_inst) if x != y]
    shift = 1 + i % (n_inst - 1)
    return [(x, (x + shift) % n_inst) for x in range(n_inst)]


def write_csv(path, columns, rows):
    "Write `rows` (dicts) as CSV with `columns`, LF line ends."
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator='\n'); w.writeheader(); w.writerows(rows)
    path.write_text(buf.getvalue())


README = """# Stylus benchmark set

Rendered by `scripts/build_benchmark_set.py` ({options}).
{n_rows} rows in `manifest.csv`, {n_pieces} pieces x {n_inst} instruments = {n_audio} FLAC files in `audio/`,
{n_pieces} MIDI scores in `midi/`.

## Files
- `manifest.csv`: `{manifest_cols}`; paths relative to this folder. `content` is piece A on instrument X,
  `style` piece B (another piece) on instrument Y, `ground_truth` piece A on instrument Y (the same notes and
  timing as the content: the ideal transfer), `score` piece A's passage as MIDI (the notes every render of A
  plays, same ticks and tempo; written with the piano program), `style_label` the name of instrument Y.
- `unrelated.csv`: `{unrelated_cols}`; for each manifest row, `unrelated` is a third piece C on the ground
  truth's instrument Y (label `unrelated_label`) and `unrelated_content_instrument` piece C on the content's
  instrument X: a different piece on the same instrument, for the harness's self-tests.
- `audio/<piece>_<instrument>.flac`: mono, 16-bit, {rate} Hz, {seconds:g} s exactly, peak -3 dBFS.
- `midi/<piece>.mid`: the score of each piece's passage.

## Pieces (passage: {quarters:g} quarter notes from the first full bar, at {bpm:g} bpm)
{pieces}

## Instruments (General MIDI programs, every part on one)
{instruments}

## Sources and licences
- Scores: J.S. Bach's four-part chorales (the compositions are in the public domain), as encoded in the corpus
  that ships with music21 (https://github.com/cuthbertLab/music21; the package is BSD-3-Clause and describes its
  corpus as freely distributable). Only the notes (pitches, onsets, durations) of the passages are used.
- Sound: {soundfont}, rendered with FluidSynth (LGPL-2.1). FluidR3_GM by Frank Wen is released under the MIT
  licence (Debian package `fluid-soundfont-gm`, /usr/share/doc/fluid-soundfont-gm/copyright).
- The rendered audio and MIDI here are derived from those and may be redistributed under the same terms.
"""


def build(out, pieces=4, seconds=10.0, instruments=DEFAULT_INSTRUMENTS, soundfont=SOUNDFONT, rate=22050,
          bpm=96.0, pairs='rotate', check=True):
    "Render the set into `out`; returns (manifest rows, unrelated rows, per-file stats)."
    check_tools(soundfont)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    bad = [i for i in instruments if i not in INSTRUMENTS]
    if bad: fail(f'unknown instrument {bad[0]!r}; choose from {", ".join(INSTRUMENTS)}')
    if len(set(instruments)) < 2: fail('give at least two different instruments (a transfer changes instrument)')
    if pieces < 3: fail('give --pieces 3 or more (content, style and an unrelated piece must differ)')
    if seconds <= 0 or rate <= 0: fail('--seconds and --rate must be positive')
    quarters = seconds * bpm / 60
    final = Path(out); final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix='.benchset-') as tmp:
        out, tmp = Path(tmp) / 'set', Path(tmp)
        rows, unrelated, stats = _build_into(out, tmp, pieces, seconds, instruments, soundfont, rate, bpm, pairs,
                                             quarters, check)
        final.mkdir(exist_ok=True)
        for path in sorted(out.rglob('*')):  # the whole set is made: move it into place, file by file
            dest = final / path.relative_to(out)
            if path.is_dir(): dest.mkdir(parents=True, exist_ok=True)
            else: os.replace(path, dest)
    return rows, unrelated, stats


def _build_into(out, tmp, pieces, seconds, instruments, soundfont, rate, bpm, pairs, quarters, check):
    "Render the set into the empty folder `out`, scratch files in `tmp` (see `build`)."
    from render_clips import render, to_midi  # music21 -> MIDI with one instrument; fluidsynth -> float audio
    import soundfile as sf
    from music21 import instrument
    (out / 'audio').mkdir(parents=True); (out / 'midi').mkdir()
    chosen, stats = [], []
    for piece in candidate_pieces():
        if len(chosen) == pieces: break
        score = passage(piece, quarters, bpm)
        if score is None: continue
        pid = piece_id(piece)
        to_midi(copy.deepcopy(score), instrument.Piano, out / 'midi' / f'{pid}.mid')
        ref = note_events(out / 'midi' / f'{pid}.mid')
        for name in instruments:
            mid, wav = tmp / f'{pid}_{name}.mid', tmp / 'x.wav'
            to_midi(copy.deepcopy(score), getattr(instrument, INSTRUMENTS[name]), mid)
            if note_events(mid) != ref: fail(f'{pid} on {name}: the MIDI notes differ from the score')
            audio = finish(render(mid, wav, soundfont, rate), rate, seconds)
            path = out / 'audio' / f'{pid}_{name}.flac'
            sf.write(path, audio, rate, subtype='PCM_16', format='FLAC')
            stats.append(dict(file=f'audio/{path.name}', seconds=len(audio) / rate,
                              rms_db=20 * np.log10(np.sqrt(np.mean(audio ** 2))),
                              peak_db=20 * np.log10(np.abs(audio).max()), kb=path.stat().st_size / 1e3,
                              last_rms_db=20 * np.log10(np.sqrt(np.mean(audio[-rate:] ** 2)))))
        chosen.append((piece, pid, ref))
    if len(chosen) < pieces: fail(f'only {len(chosen)} chorales in the corpus are {seconds:g} s long; ask for fewer')
    rows, unrelated = [], []
    for i, (piece, pid, ref) in enumerate(chosen):
        style_pid, other_pid = chosen[(i + 1) % pieces][1], chosen[(i + 2) % pieces][1]
        for x, y in row_pairs(len(instruments), i, pairs):
            X, Y = instruments[x], instruments[y]
            rid = f'{pid}_{X}_to_{Y}'
            rows.append(dict(id=rid, content=f'audio/{pid}_{X}.flac', style=f'audio/{style_pid}_{Y}.flac',
                             ground_truth=f'audio/{pid}_{Y}.flac', score=f'midi/{pid}.mid', style_label=Y))
            unrelated.append(dict(id=rid, content=f'audio/{pid}_{X}.flac', unrelated=f'audio/{other_pid}_{Y}.flac',
                                  unrelated_label=Y, unrelated_content_instrument=f'audio/{other_pid}_{X}.flac'))
    write_csv(out / 'manifest.csv', MANIFEST_COLUMNS, rows)
    write_csv(out / 'unrelated.csv', UNRELATED_COLUMNS, unrelated)
    opts = (f'--pieces {pieces} --seconds {seconds:g} --instruments {" ".join(instruments)} --rate {rate} '
            f'--bpm {bpm:g} --pairs {pairs} --soundfont {Path(soundfont).name}')
    text = README.format(
        options=opts, n_rows=len(rows), n_pieces=pieces, n_inst=len(instruments), n_audio=pieces * len(instruments),
        manifest_cols=', '.join(MANIFEST_COLUMNS), unrelated_cols=', '.join(UNRELATED_COLUMNS), rate=rate,
        seconds=seconds, quarters=quarters, bpm=bpm, soundfont=Path(soundfont).name,
        pieces='\n'.join(f'- `{pid}`: music21 corpus `{p}` (J.S. Bach, chorale {pid.upper().replace("_", ".")}), '
                         f'{len(ref) // 2} notes' for p, pid, ref in chosen),
        instruments='\n'.join(f'- {n}: GM program {getattr(instrument, INSTRUMENTS[n])().midiProgram}'
                              for n in instruments))
    (out / 'README.md').write_text(text)
    if check: check_set(out, rows, unrelated, chosen)
    return rows, unrelated, stats


def check_set(out, rows, unrelated, chosen):
    "Check every row (ground truth = content's piece, style another passage); print an audio proxy if librosa is here."
    notes = {pid: ref for _, pid, ref in chosen}
    piece = lambda path: Path(path).stem.rsplit('_', 1)[0]
    for r in rows:
        if piece(r['ground_truth']) != piece(r['content']): fail(f'row {r["id"]}: the ground truth is another piece')
        if notes[piece(r['style'])] == notes[piece(r['content'])]: fail(f'row {r["id"]}: the style has the content\'s notes')
    try: import librosa
    except ImportError: return
    feats = {}
    def feat(path):  # unit-norm CQT chroma frames (notes), mean MFCC 1-19 (timbre); once per file
        if path not in feats:
            y, sr = librosa.load(out / path, sr=None)
            c = librosa.feature.chroma_cqt(y=y, sr=sr)
            feats[path] = c / (np.linalg.norm(c, axis=0, keepdims=True) + 1e-9), librosa.feature.mfcc(y=y, sr=sr)[1:20].mean(1)
        return feats[path]
    cos = lambda a, b: float(np.mean(np.sum(feat(a)[0] * feat(b)[0], axis=0)))
    dist = lambda a, b: float(np.linalg.norm(feat(a)[1] - feat(b)[1]))
    for r, u in zip(rows, unrelated):
        print(f'{r["id"]}: CQT-chroma cosine to content: ground truth {cos(r["content"], r["ground_truth"]):.3f}, '
              f'unrelated {cos(r["content"], u["unrelated"]):.3f}; mean-MFCC distance to style: ground truth '
              f'{dist(r["ground_truth"], r["style"]):.1f}, content {dist(r["content"], r["style"]):.1f}')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=str(Path(__file__).resolve().parents[1] / 'stylus' / 'data' / 'benchset'))
    ap.add_argument('--pieces', type=int, default=4, help='number of chorales (3 or more)')
    ap.add_argument('--seconds', type=float, default=10.0, help='length of every file, seconds')
    ap.add_argument('--instruments', nargs='+', default=DEFAULT_INSTRUMENTS, help=f'from: {" ".join(INSTRUMENTS)}')
    ap.add_argument('--soundfont', default=SOUNDFONT, help='a General MIDI .sf2 file')
    ap.add_argument('--rate', type=int, default=22050, help='sample rate of the FLAC files, Hz')
    ap.add_argument('--bpm', type=float, default=96.0, help='tempo of every passage, quarter notes per minute')
    ap.add_argument('--pairs', choices=['rotate', 'all'], default='rotate',
                    help='rotate: one target instrument per content instrument and piece; all: every ordered pair')
    args = ap.parse_args()
    t = time.perf_counter()
    rows, _, stats = build(args.out, args.pieces, args.seconds, args.instruments, args.soundfont, args.rate,
                           args.bpm, args.pairs)
    for s in stats:
        print(f'{s["file"]}: {s["seconds"]:.3f} s, RMS {s["rms_db"]:.1f} dBFS, peak {s["peak_db"]:.1f} dBFS, '
              f'last second RMS {s["last_rms_db"]:.1f} dBFS, {s["kb"]:.0f} kB')
    total = sum(p.stat().st_size for p in Path(args.out).rglob('*') if p.is_file())
    print(f'{len(rows)} rows, {len(stats)} audio files, {total / 1e6:.2f} MB in {args.out}, '
          f'{time.perf_counter() - t:.1f} s')


if __name__ == '__main__': main()
