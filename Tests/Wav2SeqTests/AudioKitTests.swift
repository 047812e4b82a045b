@testable import AudioKit
import Foundation
import Testing

/// Test signals and files, written to a fresh temporary folder per test.
struct Scratch {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "wav2seq-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    /// Writes mono or interleaved samples with libsndfile and returns the path.
    @discardableResult
    func write(_ name: String, _ samples: [Float], rate: Int, channels: Int = 1,
               container: AudioFile.Container = .wav, encoding: AudioFile.Encoding = .pcm16) throws -> String {
        let p = path(name)
        try AudioFile.write(Audio(samples: samples, channels: channels, sampleRate: rate), to: p,
                            container: container, encoding: encoding)
        return p
    }
}

func sine(_ hz: Double, rate: Int, seconds: Double, amplitude: Float = 0.5) -> [Float] {
    (0..<Int(seconds * Double(rate))).map { amplitude * Float(sin(2 * Double.pi * hz * Double($0) / Double(rate))) }
}

func rms(_ x: ArraySlice<Float>) -> Float {
    x.isEmpty ? 0 : (x.reduce(0) { $0 + $1 * $1 } / Float(x.count)).squareRoot()
}

/// The frequency (Hz) of the largest bin of a Hann-windowed power spectrum of x's first 2^k samples.
func peakFrequency(_ x: [Float], rate: Int) -> Double {
    var n = 1
    while n * 2 <= x.count { n *= 2 }
    let w = (0..<n).map { x[$0] * Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
    let p = RealFFT(size: n).powerSpectrum(w)
    let k = p.indices.max { p[$0] < p[$1] } ?? 0
    return Double(k) * Double(rate) / Double(n)
}

@Suite struct FFTTests {
    @Test func complexMatchesDirectDFT() {
        let n = 64
        var re = (0..<n).map { Float(sin(Double($0) * 0.37) + 0.1 * Double($0 % 5)) }
        var im = (0..<n).map { Float(cos(Double($0) * 1.3)) }
        let (r0, i0) = (re, im)
        FFT(size: n).forward(re: &re, im: &im)
        for k in 0..<n {
            var sr = 0.0, si = 0.0
            for m in 0..<n {
                let a = -2 * Double.pi * Double(k * m) / Double(n)
                sr += Double(r0[m]) * cos(a) - Double(i0[m]) * sin(a)
                si += Double(r0[m]) * sin(a) + Double(i0[m]) * cos(a)
            }
            #expect(abs(Double(re[k]) - sr) < 1e-3 && abs(Double(im[k]) - si) < 1e-3, "bin \(k)")
        }
    }

    @Test(arguments: [2, 4, 8, 256])
    func realPowerSpectrumMatchesDirectDFT(n: Int) {
        let x = (0..<n).map { (m: Int) -> Float in
            let wave: Double = sin(Double(m) * 0.9) * 0.7
            let steps: Double = (Double(m % 3) - 1) * 0.2
            return Float(wave + steps)
        }
        let p = RealFFT(size: n).powerSpectrum(x)
        #expect(p.count == n / 2 + 1)
        for k in 0...(n / 2) {
            var sr = 0.0, si = 0.0
            for m in 0..<n {
                let a = -2 * Double.pi * Double(k * m) / Double(n)
                sr += Double(x[m]) * cos(a)
                si += Double(x[m]) * sin(a)
            }
            let want = sr * sr + si * si
            #expect(abs(Double(p[k]) - want) <= 1e-3 * max(1, want), "n \(n) bin \(k)")
        }
    }
}

@Suite struct ReadingTests {
    @Test func stereoIsMixedToMono() throws {
        let s = try Scratch(); defer { s.remove() }
        // left 0.5, right −0.25 → mono 0.125; and a second frame left 0.25, right 0.25 → 0.25
        let path = try s.write("st.wav", [0.5, -0.25, 0.25, 0.25], rate: 8000, channels: 2)
        let audio = try AudioFile.read(path)
        #expect(audio.channels == 2 && audio.frames == 2 && audio.sampleRate == 8000)
        let mono = audio.mono()
        #expect(mono.count == 2)
        #expect(abs(mono[0] - 0.125) < 1e-4 && abs(mono[1] - 0.25) < 1e-4)
    }

    @Test func pcm16IsScaledByOneOver32768() throws {
        // A WAV written by hand (not by libsndfile): 16-bit mono, samples 16384, −32768, 1.
        var bytes = [UInt8]()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let samples: [Int16] = [16384, -32768, 1]
        bytes += Array("RIFF".utf8); u32(36 + 6); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
        bytes += Array("data".utf8); u32(6)
        for v in samples { u16(UInt16(bitPattern: v)) }
        let s = try Scratch(); defer { s.remove() }
        let path = s.path("hand.wav")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let audio = try AudioFile.read(path)
        #expect(audio.sampleRate == 16000 && audio.channels == 1)
        #expect(audio.samples == [0.5, -1, 1 / 32768])
    }

    @Test func flacAndOggAreRead() throws {
        let s = try Scratch(); defer { s.remove() }
        let x = sine(440, rate: 16000, seconds: 0.5)
        let flac = try AudioFile.read(try s.write("a.flac", x, rate: 16000, container: .flac))
        #expect(flac.frames == x.count)
        #expect(zip(flac.samples, x).allSatisfy { abs($0 - $1) < 1e-4 })
        let ogg = try AudioFile.read(try s.write("a.ogg", x, rate: 16000, container: .ogg))
        #expect(abs(ogg.frames - x.count) < 2048)
        #expect(abs(peakFrequency(ogg.samples, rate: 16000) - 440) < 10)
    }

    @Test func badFilesAreErrorsNotCrashes() throws {
        let s = try Scratch(); defer { s.remove() }
        let junk = s.path("junk.wav")
        _ = FileManager.default.createFile(atPath: junk, contents: Data("RIFF\u{1}\u{0}\u{0}\u{0}WAVEfmt garbage".utf8))
        #expect(throws: AudioError.self) { try AudioFile.read(junk) }
        let empty = s.path("empty.wav")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: AudioError.self) { try AudioFile.read(empty) }
        #expect(throws: AudioError("No such file or directory")) { try AudioFile.read(s.path("missing.wav")) }
        #expect(throws: AudioError("is a directory")) { try AudioFile.read(s.dir) }
        // a header with no samples
        let silent = try s.write("none.wav", [], rate: 8000)
        #expect(throws: AudioError("no audio (0 frames)")) { try AudioFile.read(silent) }
    }
}

@Suite struct ResamplerTests {
    /// A header with an odd, huge rate (found by fuzzing: 3,812,113 Hz took 27 s and
    /// half a gigabyte to build its filters) gets a bounded table, and still a low-pass.
    /// Files of many rates do not pile up filter tables (found by fuzzing: memory grew
    /// with every new rate).
    @Test func theResamplerCacheIsBounded() {
        let cache = ResamplerCache(outRate: 8000)
        for rate in 11_000..<11_040 { _ = cache.get(rate) }
        #expect(cache.count <= ResamplerCache.capacity)
    }

    @Test func oddHugeRatesHaveABoundedTable() {
        let r = Resampler(from: 3_812_113, to: 8000)
        #expect(r.table.count <= Resampler.maxTableSize)
        let tone = (0..<200_000).map { Float(sin(2 * Double.pi * 500 * Double($0) / 3_812_113)) }
        let y = r.process(tone)
        #expect(abs(y.count - 200_000 * 8000 / 3_812_113) <= 1)
        let peak = y.dropFirst(50).dropLast(50).map(abs).max() ?? 0
        #expect(peak > 0.9 && peak < 1.05, "a 500 Hz tone passes: peak \(peak)")
    }

    @Test(arguments: [(16000, 8000), (44100, 8000), (22050, 8000), (11025, 8000), (48000, 8000),
                      (8000, 16000), (8000, 7919), (16000, 22050)])
    func sineKeepsItsFrequency(from: Int, to: Int) {
        let x = sine(1000, rate: from, seconds: 1)
        let r = Resampler(from: from, to: to)
        let y = r.process(x)
        #expect(y.count == (x.count * to + from - 1) / from)
        // within one FFT bin of 1000 Hz
        var n = 1
        while n * 2 <= y.count { n *= 2 }
        #expect(abs(peakFrequency(y, rate: to) - 1000) <= Double(to) / Double(n))
        // amplitude kept (passband): RMS of 0.5·sine is 0.354, away from the edges
        let mid = y[(y.count / 4)..<(3 * y.count / 4)]
        #expect(abs(Double(rms(mid)) - 0.5 / 2.0.squareRoot()) < 0.01)
    }

    @Test func toneAboveTheNewNyquistIsRemoved() {
        // 5 kHz cannot exist at 8 kHz; without a low-pass it would alias to 3 kHz.
        let x = sine(5000, rate: 22050, seconds: 1)
        let y = Resampler(from: 22050, to: 8000).process(x)
        #expect(rms(y[400..<(y.count - 400)]) < 0.5e-3)   // below −60 dB of the 0.354 input RMS
    }

    @Test func constantStaysConstant() {
        let y = Resampler(from: 44100, to: 8000).process([Float](repeating: 0.25, count: 44100))
        for v in y[200..<(y.count - 200)] { #expect(abs(v - 0.25) < 1e-5) }
    }

    @Test func equalRatesCopy() {
        let x = sine(300, rate: 8000, seconds: 0.1)
        #expect(Resampler(from: 8000, to: 8000).process(x) == x)
    }
}

@Suite struct ShapingTests {
    @Test func trimRemovesLeadingAndTrailingSilence() {
        let rate = 8000
        let tone = sine(440, rate: rate, seconds: 0.2)
        // 0.3 s of silence with faint noise at about −70 dB, the tone, then 0.4 s of true silence
        var x = (0..<(rate * 3 / 10)).map { Float(($0 * 7919) % 13 - 6) * 5e-5 }
        x += tone
        x += [Float](repeating: 0, count: rate * 4 / 10)
        let r = Shaping.nonSilentRange(x, sampleRate: rate, db: 40)
        let start = rate * 3 / 10, end = start + tone.count
        // frame boundaries: within one 20 ms frame of the true edges, and never cutting into the tone
        #expect(r.lowerBound <= start && r.lowerBound >= start - rate / 50)
        #expect(r.upperBound >= end && r.upperBound <= end + rate / 50)
    }

    @Test func trimKeepsAllZeroAndShortSignals() {
        #expect(Shaping.nonSilentRange([Float](repeating: 0, count: 1000), sampleRate: 8000, db: 40) == 0..<1000)
        #expect(Shaping.nonSilentRange([0.1, 0, 0], sampleRate: 8000, db: 40) == 0..<3)
    }

    @Test func fitPadsAndCuts() {
        let x: [Float] = [1, 2, 3, 4, 5]
        #expect(Shaping.fit(x, to: 8) == [1, 2, 3, 4, 5, 0, 0, 0])
        #expect(Shaping.fit(x, to: 3) == [1, 2, 3])
        #expect(Shaping.fit(x, to: 8, alignment: .center) == [0, 1, 2, 3, 4, 5, 0, 0])
        #expect(Shaping.fit(x, to: 2, alignment: .center) == [2, 3])
        #expect(Shaping.fit(x, to: 5) == x)
        #expect(Shaping.fit([], to: 2) == [0, 0])
    }
}

@Suite struct LabelTests {
    @Test func firstCharacterOfTheFileName() throws {
        let l = try Labeler()
        #expect(try l.label("data/train/7_jackson_32.wav") == "7")
        #expect(try l.label("3_theo.wav") == "3")
        #expect(try l.label("/x/y/écoute.flac") == "é")
    }

    @Test func patternTakesTheFirstGroupOrTheWholeMatch() throws {
        #expect(try Labeler(pattern: "^([a-z]+)_").label("dir/yes_0a7c.wav") == "yes")
        #expect(try Labeler(pattern: "[0-9]+").label("dir/take12_b.wav") == "12")
        #expect(throws: AudioError.self) { try Labeler(pattern: "^([a-z]+)_").label("dir/12.wav") }
        #expect(throws: AudioError.self) { try Labeler(pattern: "([unclosed") }
    }

    @Test func directoryName() throws {
        let l = try Labeler(fromDirectory: true)
        #expect(try l.label("speech_commands/left/0a7c2a8d_nohash_0.wav") == "left")
        // whole names: yes and you are two classes
        #expect(try l.label("sc/yes/a.wav") != l.label("sc/you/a.wav"))
        #expect(try Labeler(pattern: "(.+)", fromDirectory: true).label("sc/left/0a7c.wav") == "left")
        #expect(throws: AudioError.self) { try l.label("bare.wav") }
    }
}

@Suite struct LogMelTests {
    @Test func frameCountFollowsTheLengthInSamples() {
        let m = LogMel(bands: 40, sampleRate: 8000, win: 200, hop: 80)
        #expect(m.fftSize == 256)
        #expect(m.frameCount(4000) == 48)
        #expect(m.frameCount(200) == 1 && m.frameCount(199) == 1 && m.frameCount(0) == 0 && m.frameCount(280) == 2)
        let f = m.features([Float](repeating: 0, count: 4000))
        #expect(f.count == 48 * 40)
        #expect(f.allSatisfy { abs($0 - log(LogMel.floor)) < 1e-3 })   // silence reads as log(1e-6)
    }

    @Test(arguments: [MelScale.htk, .slaney])
    func toneLandsInTheBandAroundItsFrequency(scale: MelScale) {
        let rate = 8000, bands = 40
        let m = LogMel(bands: bands, sampleRate: rate, win: 200, hop: 80, scale: scale)
        let f = m.features(sine(1000, rate: rate, seconds: 0.5))
        let frames = m.frameCount(rate / 2)
        // band edges: bands + 2 points equally spaced in mel from 0 to 4000 Hz; band b peaks at edge b + 1
        let top = scale.mel(4000)
        let centres = (0..<bands).map { scale.hz(top * Double($0 + 1) / Double(bands + 1)) }
        let expected = centres.indices.min { abs(centres[$0] - 1000) < abs(centres[$1] - 1000) } ?? 0
        for t in [frames / 4, frames / 2, 3 * frames / 4] {
            let row = Array(f[(t * bands)..<((t + 1) * bands)])
            let loudest = row.indices.max { row[$0] < row[$1] } ?? -1
            #expect(abs(loudest - expected) <= 1, "frame \(t): band \(loudest), expected \(expected)")
            #expect(row[loudest] - row[0] > 5, "a tone stands well above the lowest band")
        }
    }

    @Test func scalesInvertAndAgreeOnKnownPoints() {
        for s in MelScale.allCases {
            for hz in [0.0, 300, 1000, 3999] { #expect(abs(s.hz(s.mel(hz)) - hz) < 1e-6) }
        }
        #expect(abs(MelScale.htk.mel(700) - 2595 * log10(2.0)) < 1e-9)
        #expect(abs(MelScale.slaney.mel(1000) - 15) < 1e-9)
    }

    @Test func tooManyBandsLeavesSomeEmpty() {
        let fb = MelFilterbank(bands: 128, fftSize: 64, sampleRate: 8000, fmin: 0, fmax: 4000, scale: .htk)
        #expect(fb.emptyBands > 0)
        #expect(MelFilterbank(bands: 40, fftSize: 256, sampleRate: 8000, fmin: 0, fmax: 4000, scale: .htk).emptyBands == 0)
    }
}

@Suite struct CepstrumTests {
    /// The DCT-II row k of M bands, written out in Double.
    static func row(_ k: Int, _ M: Int) -> [Double] {
        let n = Double(M), scale: Double = k == 0 ? (1 / n).squareRoot() : (2 / n).squareRoot()
        var row = [Double]()
        for m in 0..<M {
            let angle = Double.pi * Double(k) * (Double(m) + 0.5) / n
            row.append(scale * cos(angle))
        }
        return row
    }

    @Test func aFlatFrameHasOnlyItsFirstCoefficient() {
        let c = Cepstrum(bands: 40, coefficients: 13)
        let out = c.apply([Float](repeating: -2, count: 3 * 40))            // 3 frames
        #expect(out.count == 3 * 13)
        for t in 0..<3 {
            let c0: Float = -2 * Float(40).squareRoot()                       // c0 = v·√M
            #expect(abs(out[t * 13] - c0) < 1e-4)
            for k in 1..<13 { #expect(abs(out[t * 13 + k]) < 1e-5, "c\(k)") }
        }
    }

    @Test(arguments: [1, 3, 12])
    func aCosineOfTheBandsLandsInItsCoefficient(k: Int) {
        let M = 40, c = Cepstrum(bands: M, coefficients: 13)
        let frame = Self.row(k, M).map { Float($0 * 5) }                       // 5 × basis row k
        let out = c.apply(frame)
        for j in 0..<13 { #expect(abs(out[j] - (j == k ? 5 : 0)) < 1e-5, "c\(j) of row \(k)") }
    }

    @Test func allCoefficientsInvertByTheTranspose() {
        // orthonormal: with N = M, x = Dᵀ·(D·x)
        let M = 23, c = Cepstrum(bands: M, coefficients: M)
        var rng = SystemRandomNumberGenerator()
        let x = (0..<(2 * M)).map { _ in Float.random(in: -10...3, using: &rng) }
        let y = c.apply(x)
        for t in 0..<2 {
            for m in 0..<M {
                let back = (0..<M).reduce(0.0) { $0 + Self.row($1, M)[m] * Double(y[t * M + $1]) }
                #expect(abs(back - Double(x[t * M + m])) < 1e-4)
            }
        }
    }

    @Test func theFrontendKeepsTheLowCoefficientsOfItsLogMel() throws {
        let rate = 8000
        let mel = LogMel(bands: 40, sampleRate: rate, win: 200, hop: 80)
        let plain = Frontend(rate: rate, trimDB: nil, mel: mel)
        let mfcc = Frontend(rate: rate, trimDB: nil, mel: mel, mfcc: 13)
        #expect(mfcc.features == 13 && mfcc.fields["mfcc"] == "13" && plain.fields["mfcc"] == "none")
        let x = sine(300, rate: rate, seconds: 0.3)
        let audio = Audio(samples: x, channels: 1, sampleRate: rate)
        let a = try plain.features(audio), b = try mfcc.features(audio)
        #expect(a.steps == b.steps && b.x.count == b.steps * 13)
        #expect(b.x == Cepstrum(bands: 40, coefficients: 13).apply(a.x))
    }
}

@Suite struct FrontendTests {
    @Test func fileToFixedLengthWaveform() throws {
        let s = try Scratch(); defer { s.remove() }
        // stereo 16 kHz: 0.1 s silence, 0.2 s of 500 Hz, 0.1 s silence
        let rate = 16000
        let tone = sine(500, rate: rate, seconds: 0.2)
        let mono = [Float](repeating: 0, count: rate / 10) + tone + [Float](repeating: 0, count: rate / 10)
        let stereo = mono.flatMap { [$0, $0] }
        let path = try s.write("5_x.wav", stereo, rate: rate, channels: 2)

        let natural = try Frontend(rate: 8000).process(path: path)
        #expect(natural.steps == natural.x.count)
        #expect(abs(natural.steps - 1600) <= 8000 / 50 * 2)          // 0.2 s at 8 kHz, ± one frame each end
        #expect(abs(peakFrequency(natural.x, rate: 8000) - 500) < 8000.0 / 1024)

        let untrimmed = try Frontend(rate: 8000, trimDB: nil).process(path: path)
        #expect(untrimmed.steps == 3200)

        let fixed = try Frontend(rate: 8000, length: 4000).process(path: path)
        #expect(fixed.steps == 4000)
        #expect(fixed.x[3000..<4000].allSatisfy { $0 == 0 })          // padded at the end
        let cut = try Frontend(rate: 8000, length: 1000).process(path: path)
        #expect(cut.steps == 1000)

        let mel = Frontend(rate: 8000, length: 4000, mel: LogMel(bands: 40, sampleRate: 8000, win: 200, hop: 80))
        let m = try mel.process(path: path)
        #expect(m.steps == 48 && m.x.count == 48 * 40 && mel.features == 40)
    }
}
