// libFuzzer entry point for audio decoding: libsndfile on any bytes (through a memory
// file in /dev/shm), then mono mix-down, resampling to 8 kHz, trimming, and log-mel features with
// CMVN. Any bytes must give finite features or an AudioError, never a crash, a trap
// or a runaway allocation. Built and run by scripts/fuzz.
import AudioKit
#if canImport(Glibc)
import Glibc
#endif

let frontend = Frontend(rate: 8000, trimDB: 40, mel: LogMel(bands: 8, sampleRate: 8000, win: 200, hop: 80), cmvn: true)
/// The input goes through a file in memory (tmpfs), since libsndfile reads files. The
/// file is unlinked at once and reached through /proc/self/fd, so nothing can remove it
/// under a running fuzzer and nothing is left behind.
let memory: Int32 = {
    let path = "/dev/shm/recur-fuzz-audio-\(getpid())"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    unlink(path)
    return fd
}()
let memoryPath = "/proc/self/fd/\(memory)"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    precondition(memory >= 0)
    ftruncate(memory, 0)
    var done = 0
    while done < size {
        let n = pwrite(memory, data + done, size - done, off_t(done))
        precondition(n > 0)
        done += n
    }
    do {
        let audio = try AudioFile.read(memoryPath)
        guard audio.frames <= 1 << 20 else { return 0 }  // decoding was the point; keep each run fast
        let (x, steps) = try frontend.features(audio)
        precondition(x.count == steps * 8 && x.allSatisfy(\.isFinite))
    } catch {
    }
    return 0
}
