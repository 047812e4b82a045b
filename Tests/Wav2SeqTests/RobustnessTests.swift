@testable import AudioKit
import Foundation
import TensorStream
import Testing

/// Audio that generalises: the voice-activity trim, VTLP, noise and gain draws, and a fast
/// version of scripts/audio-robustness on a synthetic word (noise pads at −50 dBFS, ±12 dB,
/// a detour through 16 kHz give the clean clip's features).
@Suite("Audio robustness")
struct RobustnessTests {
    /// A "word" at 8 kHz: two voiced syllables (harmonics of 140 Hz under two formant-like
    /// envelopes) with a soft onset and ending, about 0.45 s.
    static func word(rate: Int = 8000) -> [Float] {
        let n = Int(0.45 * Double(rate))
        return (0..<n).map { i in
            let t = Double(i) / Double(rate)
            let env = min(1, t / 0.04) * min(1, (0.45 - t) / 0.06) * (t < 0.22 ? 1 : 0.7)
            let formant = t < 0.22 ? 700.0 : 1800.0
            var v = 0.0
            for h in 1...20 {
                let f = 140.0 * Double(h)
                v += exp(-pow((f - formant) / 300, 2)) * sin(2 * Double.pi * f * t) + 0.05 * sin(2 * Double.pi * f * t) / Double(h)
            }
            return Float(0.3 * env * v)
        }
    }

    static func noise(_ n: Int, rms: Float, seed: UInt64) -> [Float] {
        Augmentation.noise(count: n, color: .white, seed: seed).map { $0 * rms }
    }

    @Test func voiceTrimLeavesOutNoiseAndHum() {
        let w = Self.word(), pad = 4000
        let noisy = Self.noise(pad, rms: pow(10, -50 / 20), seed: 1) + w + Self.noise(pad, rms: pow(10, -50 / 20), seed: 2)
        let r = Shaping.voiceRange(noisy, sampleRate: 8000)
        #expect(abs(r.lowerBound - pad) <= 600 && abs(r.upperBound - (pad + w.count)) <= 600, "\(r) for the word at \(pad)..<\(pad + w.count)")
        // hum at −30 dBFS under the whole clip: the 40 dB trim keeps all of it, the voice trim does not
        let hum = (0..<(2 * pad + w.count)).map { Float(0.0447 * sin(2 * Double.pi * 50 * Double($0) / 8000)) }
        let hummed = zip([Float](repeating: 0, count: pad) + w + [Float](repeating: 0, count: pad), hum).map { $0 + $1 }
        #expect(Shaping.nonSilentRange(hummed, sampleRate: 8000, db: 40).count == hummed.count)
        let v = Shaping.voiceRange(hummed, sampleRate: 8000)
        #expect(v.count < w.count + 1500, "\(v)")
        // a clean clip: as the 40 dB trim (frame centres instead of edges, the hangover)
        let clean = [Float](repeating: 0, count: 800) + w + [Float](repeating: 0, count: 800)
        let a = Shaping.nonSilentRange(clean, sampleRate: 8000, db: 40), b = Shaping.voiceRange(clean, sampleRate: 8000)
        #expect(abs(b.lowerBound - a.lowerBound) <= 160 && abs(b.upperBound - a.upperBound) <= 160, "\(b) vs \(a)")
    }

    /// A soft fricative before the word, 4 dB above noise at −50 dBFS (the s of "six" from a
    /// soft voice, sampled at 8 kHz, is this quiet): the trim keeps it, as it keeps it
    /// without the noise, and still leaves the noise out.
    @Test func voiceTrimKeepsAQuietConsonantAboveTheNoise() {
        let w = Self.word(), pad = 4000, hiss = 800   // 0.1 s of hiss at −46 dBFS
        let s = Self.noise(hiss, rms: pow(10, -46 / 20), seed: 9)
        let noisy = Self.noise(pad, rms: pow(10, -50 / 20), seed: 1) + s + w + Self.noise(pad, rms: pow(10, -50 / 20), seed: 2)
        let r = Shaping.voiceRange(noisy, sampleRate: 8000)
        #expect(abs(r.lowerBound - pad) <= 120, "\(r): the hiss starts at \(pad)")
        #expect(abs(r.upperBound - (pad + hiss + w.count)) <= 600, "\(r)")
        let clean = Shaping.voiceRange(s + w, sampleRate: 8000)
        #expect(clean.lowerBound <= 80, "\(clean)")
    }

    @Test func vtlpWarpIsMonotonicAndKeepsTheEnds() {
        for warp in [0.85, 0.95, 1.05, 1.2] {
            var previous = -1.0
            for k in 0...400 {
                let f = Double(k) * 10
                let w = MelFilterbank.warped(f, warp: warp, fmax: 4000)
                #expect(w > previous)
                previous = w
            }
            #expect(MelFilterbank.warped(0, warp: warp, fmax: 4000) == 0)
            #expect(abs(MelFilterbank.warped(4000, warp: warp, fmax: 4000) - 4000) < 1e-9)
            #expect(abs(MelFilterbank.warped(1000, warp: warp, fmax: 4000) - 1000 * warp) < 1e-9)
        }
        // a formant at 1 kHz moves to the band of 1.2 kHz
        let plain = LogMel(bands: 40, sampleRate: 8000, win: 200, hop: 80), warped = plain.warped(1.2)
        let tone = sine(1000, rate: 8000, seconds: 0.1), target = sine(1200, rate: 8000, seconds: 0.1)
        func peak(_ m: LogMel, _ x: [Float]) -> Int { let f = Array(m.features(x).prefix(40)); return f.indices.max { f[$0] < f[$1] }! }
        #expect(abs(peak(warped, tone) - peak(plain, target)) <= 1)
    }

    @Test func drawsAreSeededAndNoiseHasItsSNR() {
        var a = Augmentation()
        a.vtlp = 0.9...1.1; a.snr = 20...20; a.gain = 6; a.pad = 0.2
        #expect(a.draw(seed: 3, file: 7, copy: 1) == a.draw(seed: 3, file: 7, copy: 1))
        #expect(a.draw(seed: 3, file: 7, copy: 1) != a.draw(seed: 3, file: 8, copy: 1))
        let d = a.draw(seed: 3, file: 7, copy: 0)
        #expect((0.9...1.1).contains(d.warp) && abs(d.gainDB) <= 6 && d.lead <= 0.2 && d.trail <= 0.2)
        #expect(d.description.contains("vtlp=") && d.description.contains("snr=20.0"))
        var quiet = Augmentation.Draw()
        quiet.snr = 20
        let x = sine(440, rate: 8000, seconds: 1)
        let y = Augmentation.apply(quiet, to: x, rate: 8000, color: .pink)
        let noisePower = zip(y, x).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
        let signalPower = x.reduce(0.0) { $0 + Double($1 * $1) } / Double(x.count)
        #expect(abs(10 * log10(signalPower / noisePower) - 20) < 0.5)
    }

    /// The fast robustness check: CMVN log-mel features of the word under each alteration,
    /// through the voice-trimming front-end, against the clean word's.
    @Test func frontEndGivesTheCleanFeaturesUnderAlterations() throws {
        let mel = LogMel(bands: 40, sampleRate: 8000, win: 200, hop: 80)
        let front = Frontend(rate: 8000, trimDB: nil, voiceTrim: true, mel: mel, cmvn: true)
        let w = Self.word()
        func features(_ x: [Float], rate: Int = 8000) throws -> [Float] { try front.features(Audio(samples: x, channels: 1, sampleRate: rate)).x }
        let clean = try features(w)
        let pad = Self.noise(4000, rms: pow(10, -50 / 20), seed: 5)
        let up = Resampler(from: 8000, to: 16000).process(w)
        let variants: [(String, [Float])] = [
            ("noise-pad", try features(pad + w + Self.noise(4000, rms: pow(10, -50 / 20), seed: 6))),
            ("gain+12", try features(w.map { $0 * 3.981 })),
            ("gain-12", try features(w.map { $0 * 0.2512 })),
            ("from-16k", try features(up, rate: 16000)),
        ]
        for (name, f) in variants {
            // the same frames (give or take the hangover's) and features close to the clean ones
            let n = min(f.count, clean.count) / 40
            #expect(abs(f.count - clean.count) <= 40 * 16, "\(name): \(f.count / 40) frames, clean \(clean.count / 40)")
            let off = max(0, (f.count - clean.count) / 40 / 2)
            var dot = 0.0, a2 = 0.0, b2 = 0.0
            for i in 0..<(n - 2 * off) * 40 {
                let (a, b) = (Double(f[off * 40 + i]), Double(clean[i]))
                dot += a * b; a2 += a * a; b2 += b * b
            }
            let cosine = dot / max((a2 * b2).squareRoot(), 1e-12)
            #expect(cosine > 0.9, "\(name): features' cosine similarity to the clean ones is \(cosine)")
        }
    }
}

/// wav2seq --augment end to end: copies after each file, seeded, the same with any
/// number of threads, metadata saying what was drawn; bad settings are usage errors.
@Suite("wav2seq --augment")
struct AugmentToolTests {
    @Test func copiesAreSeededAndDescribed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let files = try (0..<3).map { try scratch.write("\($0)_word.wav", RobustnessTests.word(), rate: 8000) }
        let args = ["--mel", "20", "--cmvn", "--augment", "2", "--vtlp", "0.9,1.1", "--snr", "15,30", "--noise", "pink",
                    "--gain", "6", "--pad", "0.2", "--seed", "4"] + files
        let one = try Wav2SeqBinary.run(args + ["--threads", "1"]), two = try Wav2SeqBinary.run(args + ["--threads", "3"])
        #expect(one.status == 0, "\(one.stderr)")
        let (meta, records) = try Wav2SeqBinary.records(one.stdout, scratch: scratch)
        #expect(try Wav2SeqBinary.records(two.stdout, scratch: scratch).examples == records, "the examples depend on --threads")
        #expect(records.count == 9, "3 files × (1 + 2 copies)")
        #expect(records.map { $0.metadata["augment"] == nil } == [true, false, false, true, false, false, true, false, false])
        #expect(records[1].metadata["augment"]?.contains("vtlp=") == true && records[1].metadata["augment"] != records[2].metadata["augment"])
        #expect(meta.fields["augment"] == "copies=2 seed=4 vtlp=0.9,1.1 snr=15,30 pink gain=6.0 pad=0.2")
        #expect(meta.fields["trim_db"] == "vad")
        let other = try Wav2SeqBinary.run(args.map { $0 == "4" ? "5" : $0 })
        #expect(try Wav2SeqBinary.records(other.stdout, scratch: scratch).examples != records, "another --seed draws otherwise")
        for bad in [["--augment", "1"], ["--vtlp", "0.9,1.1"], ["--augment", "1", "--vtlp", "1.2,0.9", "--mel", "20"],
                    ["--augment", "1", "--vtlp", "0.9,1.1"], ["--augment", "1", "--noise", "brown", "--snr", "1,2"]] {
            let r = try Wav2SeqBinary.run(bad + files)
            #expect(r.status == 2, "\(bad): \(r.stderr)")
        }
    }
}
