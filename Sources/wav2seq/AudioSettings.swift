import ArgumentParser
import AudioKit

/// wav2seq's front-end settings: from the command line (with its defaults), or read
/// back from the meta of a model or stream that wav2seq made (`--like`), where
/// `Frontend.fields` wrote them.
struct AudioSettings {
    var rate = 8000
    var trimDB: Double? = 40
    /// The voice-activity trim instead of `trimDB`.
    var voiceTrim = false
    var length: Int?
    var align = "start"
    var cmvn = false
    var mel: Int?
    /// Cepstral coefficients kept of the log-mel bands (MFCCs); nil: the bands themselves.
    var mfcc: Int?
    /// Mel frame length and step: samples, or durations ("25ms") until resolved at `rate`.
    var win = "25ms", hop = "10ms"
    var melScale = "htk"
    var fmin: Double = 0
    var fmax: Double?

    /// Log-mel bands under --mfcc when --mel is not given.
    static let mfccBands = 40

    init(_ o: Wav2Seq) {
        rate = o.rate ?? rate
        switch (o.noTrim, o.trim) {
        case (true, _): trimDB = nil
        case (false, "vad"?): voiceTrim = true
        case (false, let t?): trimDB = Double(t) ?? .nan  // validated() names a bad value
        case (false, nil): voiceTrim = o.mel != nil || o.mfcc != nil
        }
        length = o.length
        align = o.align ?? align
        cmvn = o.cmvn
        mel = o.mel ?? (o.mfcc != nil ? Self.mfccBands : nil)
        mfcc = o.mfcc
        win = o.win ?? win
        hop = o.hop ?? hop
        melScale = o.melScale ?? melScale
        fmin = o.fmin ?? fmin
        fmax = o.fmax
    }

    /// From meta fields; throws a ValidationError naming a missing or unreadable field.
    init(meta: [String: String]) throws {
        func field(_ key: String) throws -> String {
            guard let v = meta[key] else {
                if key == "sample_rate" { throw ValidationError("its meta has no sample_rate: it was not made from a wav2seq stream") }
                throw ValidationError("its meta has no \(key) (made before wav2seq recorded its front-end; remake its stream)")
            }
            return v
        }
        func number<T: LosslessStringConvertible>(_ key: String, _: T.Type) throws -> T {
            let v = try field(key)
            guard let n = T(v) else { throw ValidationError("its \(key) '\(v)' is not a number") }
            return n
        }
        rate = try number("sample_rate", Int.self)
        switch try field("trim_db") {
        case "none": trimDB = nil
        case "vad": voiceTrim = true
        default: trimDB = try number("trim_db", Double.self)
        }
        length = try field("length") == "none" ? nil : try number("length", Int.self)
        align = try field("align")
        guard let c = Bool(try field("cmvn")) else { throw ValidationError("its cmvn '\(meta["cmvn"]!)' is not true or false") }
        cmvn = c
        if try field("mel_bands") != "none" {
            mel = try number("mel_bands", Int.self)
            win = String(try number("win", Int.self))
            hop = String(try number("hop", Int.self))
            melScale = try field("mel_scale")
            fmin = try number("fmin", Double.self)
            fmax = try number("fmax", Double.self)
            // streams and checkpoints made before MFCCs existed have no mfcc field: log-mel
            if let m = meta["mfcc"], m != "none" { mfcc = try number("mfcc", Int.self) }
        }
    }

    /// Checks every range; throws a ValidationError naming the option.
    func validated() throws -> AudioSettings {
        guard rate >= 1, rate <= 1_000_000 else { throw ValidationError("--rate must be between 1 and 1000000 Hz") }
        if let trimDB, !voiceTrim { guard trimDB > 0, trimDB.isFinite else { throw ValidationError("--trim must be vad or a positive number of decibels") } }
        if let length, length < 1 || length > 1 << 28 { throw ValidationError("--length must be between 1 and \(1 << 28)") }
        guard Shaping.Alignment(rawValue: align) != nil else { throw ValidationError("--align must be start or center") }
        guard MelScale(rawValue: melScale) != nil else { throw ValidationError("--mel-scale must be htk or slaney") }
        if let mel, mel < 1 || mel > 4096 { throw ValidationError("--mel must be between 1 and 4096") }
        if let mfcc, mfcc < 1 || mfcc > (mel ?? 0) {
            throw ValidationError("--mfcc must be between 1 and the number of mel bands (\(mel ?? 0))")
        }
        guard fmin.isFinite, fmin >= 0, fmin < Double(rate) / 2 else { throw ValidationError("--fmin must be between 0 and --rate / 2") }
        if let fmax, !(fmax > fmin && fmax <= Double(rate) / 2) {
            throw ValidationError("--fmax must be above --fmin and at most --rate / 2 (\(Double(rate) / 2))")
        }
        _ = try samples(win, option: "--win")
        _ = try samples(hop, option: "--hop")
        return self
    }

    /// Frame lengths given as samples ("200") or durations ("25ms", "0.025s") at `rate`.
    func samples(_ text: String, option: String) throws -> Int {
        let value: Double?
        if text.hasSuffix("ms") { value = Double(text.dropLast(2)).map { $0 / 1000 * Double(rate) } }
        else if text.hasSuffix("s") { value = Double(text.dropLast()).map { $0 * Double(rate) } }
        else { value = Int(text).map(Double.init) }
        guard let value, value.isFinite, value >= 1, value <= Double(1 << 20) else {
            throw ValidationError("\(option) must be a number of samples or a duration such as 25ms (at least one sample)")
        }
        return Int(value.rounded())
    }

    /// The front-end for one speed factor.
    func frontend(speed: Double) throws -> Frontend {
        let logMel = try mel.map {
            LogMel(bands: $0, sampleRate: rate, win: try samples(win, option: "--win"), hop: try samples(hop, option: "--hop"),
                   fmin: fmin, fmax: fmax, scale: MelScale(rawValue: melScale) ?? .htk)
        }
        return Frontend(rate: rate, trimDB: voiceTrim ? nil : trimDB, voiceTrim: voiceTrim, length: length, alignment: Shaping.Alignment(rawValue: align) ?? .start,
                        mel: logMel, mfcc: mfcc, cmvn: cmvn, speed: speed)
    }
}
