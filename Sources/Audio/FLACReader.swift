// Native FLAC decoded by libFLAC directly (the library libsndfile itself uses for FLAC), without
// libsndfile's per-call bookkeeping; samples scaled exactly as libsndfile scales them.
import CFLAC
import Foundation
import SERCore

/// Reads a native FLAC stream (file or bytes in memory) through libFLAC's stream decoder.
///
/// Samples equal libsndfile's `sf_readf_float` output bit for bit: libsndfile takes libFLAC's
/// `Int32` samples and multiplies them by `1 / 2^(bits per sample - 1)` as a `Float` (exact, a
/// power of two), and stops at the STREAMINFO total; this reader does the same.
///
/// Only streams libsndfile would read the same way are opened here: STREAMINFO first with a known
/// total length, 8, 16 or 24 bits, 1 to 8 channels, and metadata libFLAC reads without complaint
/// (every block is parsed, as libsndfile has libFLAC parse them, so a damaged tag block still fails
/// the way it fails in libsndfile).
/// Anything else (`init` returns nil) stays with libsndfile. Damage found while decoding frames
/// (lost sync, a bad frame header, a frame CRC mismatch) is thrown as ``AudioError/corrupt(path:reason:)``
/// with libFLAC's reason; a stream that simply ends early (a cut file, whose torn last frame
/// libFLAC reports as lost sync) is left to the caller's truncation check.
final class FLACReader: PCMSource {
    /// What libFLAC's callbacks write to. Reached from C through an unretained pointer; the
    /// reader keeps it alive.
    fileprivate final class State {
        var channels = 0
        var sampleRate = 0
        var bits = 0
        var totalFrames: Int64 = 0
        var hasStreamInfo = false
        /// The first error libFLAC reported, or the reason a frame was refused.
        var failure: String?
        /// Whether that error can be the torn last frame of a cut file (lost sync, bad header),
        /// and how many frames decoded after it (any: the damage is inside the stream).
        var failureMayBeCut = false
        var framesAfterFailure = 0
        /// The last decoded FLAC frame, interleaved and scaled: [capacity] floats, `pendingFrames`
        /// frames of which `pendingPosition` were handed out.
        var pending: UnsafeMutablePointer<Float>?
        var capacity = 0
        var pendingFrames = 0
        var pendingPosition = 0
        /// Frames libFLAC has decoded so far (for error positions).
        var decodedFrames: Int64 = 0
        /// Bytes in memory and the read position, for `init(data:name:)`.
        var memory = Data()
        var memoryPosition = 0
        /// STREAMINFO's largest frame in bytes (0: unknown) and block size in frames.
        var maxFrameBytes = 0
        var maxBlockSize = 0

        deinit { pending?.deallocate() }

        /// Copies one decoded frame into `pending`. False (abort decoding) when it does not fit the stream.
        func take(_ header: FLAC__FrameHeader, _ buffer: UnsafePointer<UnsafePointer<FLAC__int32>?>) -> Bool {
            let ch = Int(header.channels), n = Int(header.blocksize), bps = Int(header.bits_per_sample)
            guard ch == channels, (4...24).contains(bps), n > 0 else {
                // After an earlier error, a frame (even a refused one) means the stream goes on:
                // that error was damage, not the torn end of a cut file.
                if failure == nil {
                    failure = "frame at sample \(decodedFrames) has \(ch) channels and \(bps) bits (stream: \(channels), \(bits))"
                } else {
                    framesAfterFailure += 1
                }
                return false
            }
            if n * ch > capacity {
                pending?.deallocate()
                capacity = n * ch
                pending = .allocate(capacity: capacity)
            }
            guard let out = pending else { return false }
            // libsndfile: `float norm = 1.0 / (1 << (bits_per_sample - 1))`, sample * norm.
            let scale = Float(1.0 / Double(1 << (bps - 1)))
            for c in 0..<ch {
                guard let src = buffer[c] else { failure = "frame without channel \(c)"; return false }
                if ch == 1 {
                    for i in 0..<n { out[i] = Float(src[i]) * scale }
                } else {
                    var j = c
                    for i in 0..<n { out[j] = Float(src[i]) * scale; j += ch }
                }
            }
            pendingFrames = n
            pendingPosition = 0
            if failure != nil { framesAfterFailure += 1 }
            decodedFrames += Int64(n)
            return true
        }
    }

    let path: String
    private let decoder: UnsafeMutablePointer<FLAC__StreamDecoder>
    private let state: State
    /// Frames handed out so far.
    private var delivered: Int64 = 0
    private var finished = false
    /// Size of the whole stream in bytes, and the byte offset just after the last frame decoded
    /// without error (after the metadata at first): what lies between them when decoding stops
    /// tells a cut file (less than one frame) from damage (more).
    let streamBytes: Int64
    private var goodEnd: Int64 = 0

    var channels: Int { state.channels }
    var sampleRate: Int { state.sampleRate }
    var headerFrames: Int64? { state.totalFrames }
    var isWAV: Bool { false }
    var errorMessage: String? { nil }

    /// The header as libsndfile describes it (same container and encoding names).
    var audioInfo: AudioInfo {
        let minor: SoundFile.Format = state.bits == 8 ? .pcmS8 : state.bits == 16 ? .pcm16 : .pcm24
        return AudioInfo(frames: state.totalFrames, sampleRate: state.sampleRate, channels: state.channels,
                         container: SoundFile.formatName(SoundFile.Format.flac.code, major: true),
                         encoding: SoundFile.formatName(minor.code, major: false))
    }

    /// Whether `head` (the first bytes of a file) starts a native FLAC stream.
    static func isFLAC(_ head: [UInt8]) -> Bool { head.count >= 4 && head[0..<4] == [0x66, 0x4C, 0x61, 0x43] }

    /// Opens a FLAC file; nil when libsndfile should read it instead.
    convenience init?(url: URL) {
        guard let decoder = FLAC__stream_decoder_new() else { return nil }
        let state = State()
        FLAC__stream_decoder_set_metadata_respond_all(decoder)
        let status = FileNames.withCString(url.path) {
            FLAC__stream_decoder_init_file(decoder, $0, flacWrite, flacMetadata, flacError,
                                           Unmanaged.passUnretained(state).toOpaque())
        }
        self.init(path: url.path, decoder: decoder, state: state, status: status, streamBytes: FileNames.size(url.path) ?? 0)
    }

    /// Opens FLAC bytes in memory; `name` is used in errors. Nil when libsndfile should read them instead.
    convenience init?(data: Data, name: String) {
        guard let decoder = FLAC__stream_decoder_new() else { return nil }
        let state = State()
        state.memory = data
        FLAC__stream_decoder_set_metadata_respond_all(decoder)
        let status = FLAC__stream_decoder_init_stream(decoder, flacRead, nil, flacTell, nil, nil, flacWrite, flacMetadata,
                                                      flacError, Unmanaged.passUnretained(state).toOpaque())
        self.init(path: name, decoder: decoder, state: state, status: status, streamBytes: Int64(data.count))
    }

    private init?(path: String, decoder: UnsafeMutablePointer<FLAC__StreamDecoder>, state: State,
                  status: FLAC__StreamDecoderInitStatus, streamBytes: Int64) {
        self.path = path
        self.decoder = decoder
        self.state = state
        self.streamBytes = streamBytes
        guard status == FLAC__STREAM_DECODER_INIT_STATUS_OK,
              FLAC__stream_decoder_process_until_end_of_metadata(decoder) != 0,
              state.failure == nil, state.hasStreamInfo, state.totalFrames > 0,
              (1...8).contains(state.channels), [8, 16, 24].contains(state.bits), state.sampleRate > 0
        else { return nil }
        goodEnd = decodePosition() ?? 0
    }

    /// libFLAC's byte offset after the last fully decoded frame, when it knows it.
    private func decodePosition() -> Int64? {
        var p: FLAC__uint64 = 0
        return FLAC__stream_decoder_get_decode_position(decoder, &p) != 0 ? Int64(clamping: p) : nil
    }

    /// The most bytes one frame can take: STREAMINFO's largest frame, or when unknown a
    /// verbatim frame of the largest block (samples stored uncoded) plus its header and CRC.
    private var frameBytesBound: Int64 {
        if state.maxFrameBytes > 0 { return Int64(state.maxFrameBytes) }
        return Int64(max(state.maxBlockSize, 4608)) * Int64(state.channels) * Int64((state.bits + 7) / 8 + 1) + 64
    }

    deinit {
        FLAC__stream_decoder_finish(decoder)
        FLAC__stream_decoder_delete(decoder)
    }

    func read(into buffer: UnsafeMutablePointer<Float>, frames want: Int) throws -> Int {
        var done = 0
        let ch = state.channels
        while done < want, delivered < state.totalFrames {
            if state.pendingPosition < state.pendingFrames, let src = state.pending {
                let k = Int(min(Int64(min(want - done, state.pendingFrames - state.pendingPosition)),
                                state.totalFrames - delivered))
                (buffer + done * ch).update(from: src + state.pendingPosition * ch, count: k * ch)
                state.pendingPosition += k
                done += k
                delivered += Int64(k)
                continue
            }
            if finished { break }
            var ok = FLAC__stream_decoder_process_single(decoder) != 0
            if let failure = state.failure {
                // A cut file ends in a torn frame, which libFLAC reports as lost sync (or a bad
                // header) before it meets the end: that is truncation, left to the caller's
                // frame count. Damage inside the stream is followed by more frames.
                guard state.failureMayBeCut else { throw AudioError.corrupt(path: path, reason: "FLAC: \(failure)") }
                while ok, state.framesAfterFailure == 0,
                      FLAC__stream_decoder_get_state(decoder).rawValue < FLAC__STREAM_DECODER_END_OF_STREAM.rawValue {
                    ok = FLAC__stream_decoder_process_single(decoder) != 0
                }
                if state.framesAfterFailure > 0 { throw AudioError.corrupt(path: path, reason: "FLAC: \(failure)") }
                // No frame after the error: a cut file ends in one torn frame; more bytes than a
                // frame after the last good one is damage that runs to the end (e.g. zeroed data).
                let rest = streamBytes - goodEnd
                if streamBytes > 0, rest > frameBytesBound {
                    throw AudioError.corrupt(path: path, reason: "FLAC: \(failure), and no valid frame in the \(rest) bytes that follow")
                }
                state.pendingFrames = 0
                finished = true
                break
            }
            if ok, let p = decodePosition() { goodEnd = p }
            let s = FLAC__stream_decoder_get_state(decoder)
            if s == FLAC__STREAM_DECODER_MEMORY_ALLOCATION_ERROR {
                throw AudioError.io(path: path, reason: "libFLAC ran out of memory after \(delivered) frames")
            }
            if !ok || s.rawValue >= FLAC__STREAM_DECODER_END_OF_STREAM.rawValue { finished = true }
        }
        return done
    }
}

// libFLAC's callbacks; `client` is the reader's `State`.

private func flacState(_ client: UnsafeMutableRawPointer?) -> FLACReader.State {
    Unmanaged<FLACReader.State>.fromOpaque(client!).takeUnretainedValue()
}

private let flacWrite: FLAC__StreamDecoderWriteCallback = { _, frame, buffer, client in
    guard let frame, let buffer else { return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT }
    return flacState(client).take(frame.pointee.header, buffer)
        ? FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE : FLAC__STREAM_DECODER_WRITE_STATUS_ABORT
}

private let flacMetadata: FLAC__StreamDecoderMetadataCallback = { _, metadata, client in
    guard let m = metadata?.pointee, m.type == FLAC__METADATA_TYPE_STREAMINFO else { return }
    let s = flacState(client)
    let info = m.data.stream_info
    s.hasStreamInfo = true
    s.channels = Int(info.channels)
    s.sampleRate = Int(info.sample_rate)
    s.bits = Int(info.bits_per_sample)
    s.totalFrames = Int64(clamping: info.total_samples)
    s.maxFrameBytes = Int(info.max_framesize)
    s.maxBlockSize = Int(info.max_blocksize)
}

private let flacTell: FLAC__StreamDecoderTellCallback = { _, offset, client in
    guard let offset else { return FLAC__STREAM_DECODER_TELL_STATUS_ERROR }
    offset.pointee = FLAC__uint64(flacState(client).memoryPosition)
    return FLAC__STREAM_DECODER_TELL_STATUS_OK
}

private let flacError: FLAC__StreamDecoderErrorCallback = { _, status, client in
    let s = flacState(client)
    guard s.failure == nil else { return }
    let what: String
    switch status {
    case FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC: what = "lost frame sync"
    case FLAC__STREAM_DECODER_ERROR_STATUS_BAD_HEADER: what = "bad frame header"
    case FLAC__STREAM_DECODER_ERROR_STATUS_FRAME_CRC_MISMATCH: what = "frame CRC mismatch"
    case FLAC__STREAM_DECODER_ERROR_STATUS_UNPARSEABLE_STREAM: what = "unparseable stream"
    default: what = "decoder error \(status.rawValue)"
    }
    s.failure = "\(what) after sample \(s.decodedFrames)"
    s.failureMayBeCut = status == FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC || status == FLAC__STREAM_DECODER_ERROR_STATUS_BAD_HEADER
}

private let flacRead: FLAC__StreamDecoderReadCallback = { _, buffer, bytes, client in
    guard let buffer, let bytes else { return FLAC__STREAM_DECODER_READ_STATUS_ABORT }
    let s = flacState(client)
    let left = s.memory.count - s.memoryPosition
    if left <= 0 || bytes.pointee == 0 {
        bytes.pointee = 0
        return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM
    }
    let n = min(left, bytes.pointee)
    let start = s.memory.startIndex + s.memoryPosition
    s.memory.copyBytes(to: buffer, from: start..<(start + n))
    s.memoryPosition += n
    bytes.pointee = n
    return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE
}
