#if Service
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import SERAudio
import SERRecognizer

/// An error answered as JSON: `{"error": {"code": "…", "message": "…"}}` with an HTTP status.
public struct APIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// HTTP status code.
    public var status: Int
    /// Machine-readable code (`empty_body`, `bad_audio`, `truncated_audio`, `unsupported_format`,
    /// `body_too_large`, `audio_too_long`, `overloaded`, `not_found`, `method_not_allowed`,
    /// `invalid_parameter`, `too_many_windows`, `bad_multipart`, `too_many_parts`,
    /// `unexpected_field`, `missing_file`, `bad_framing`, `request_timeout`, `deadline_exceeded`,
    /// `shutting_down`, `internal`…; `client_closed_request` (499) is only logged, never sent).
    public var code: String
    /// Human-readable explanation.
    public var message: String

    /// An error with a status, code and message.
    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// "status code: message".
    public var description: String { "\(status) \(code): \(message)" }

    /// The JSON body.
    public var json: Data {
        struct Body: Encodable { struct Inner: Encodable { var code: String; var message: String }; var error: Inner }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(Body(error: .init(code: code, message: message)))) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
    }

    /// Maps any error of the request pipeline to its answer.
    ///
    /// Audio that no decoder recognises is 415; audio in a known container that is damaged,
    /// truncated or empty is 400; too long is 413; a full work queue is 503; malformed HTTP framing
    /// is 400; a request that arrives too slowly is 408; work past its deadline is 504.
    public static func from(_ error: any Error, body: Data? = nil) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as WorkQueueError:
            switch e {
            case .full: return APIError(status: 503, code: "overloaded", message: e.description + "; retry later")
            case .shutDown: return APIError(status: 503, code: "shutting_down", message: e.description)
            }
        case let e as MultipartError:
            let code: String
            switch e {
            case .tooManyParts: code = "too_many_parts"
            case .unexpectedField: code = "unexpected_field"
            case .missingFile: code = "missing_file"
            case .duplicateFile: code = "duplicate_file"
            case .missingBoundary, .boundaryTooLong, .malformed, .headersTooLong: code = "bad_multipart"
            }
            return APIError(status: 400, code: code, message: e.description)
        case let e as RequestCancellation:
            switch e {
            case .clientGone: return APIError(status: 499, code: "client_closed_request", message: e.description)
            case .deadline: return APIError(status: 504, code: "deadline_exceeded", message: e.description + "; send a shorter recording or retry later")
            case .shuttingDown: return APIError(status: 503, code: "shutting_down", message: e.description)
            }
        case let e as RequestReadTimeout:
            return APIError(status: 408, code: "request_timeout", message: e.description)
        case let e as HTTPParserError:
            // The stream ending inside a request is the client hanging up mid-body, not bad framing.
            if case .invalidEOFState = e {
                return APIError(status: 499, code: "client_closed_request", message: "the client closed the connection in the middle of its request")
            }
            return APIError(status: 400, code: "bad_framing", message: "malformed HTTP request: \(e)")
        case is ChannelError:
            return APIError(status: 499, code: "client_closed_request", message: "the connection closed before the request was read")
        case let e as RecognizerError:
            switch e {
            case let .audio(a): return from(audio: a, body: body)
            case .empty: return APIError(status: 400, code: "empty_audio", message: e.description)
            case .tooLong: return APIError(status: 413, code: "audio_too_long", message: e.description)
            case .nonFiniteSample, .invalidSampleRate: return APIError(status: 400, code: "bad_audio", message: e.description)
            case .invalidOptions, .sessionUnsupported: return APIError(status: 400, code: "invalid_parameter", message: e.description)
            case .classifier, .invalidOutput: return APIError(status: 500, code: "inference_failed", message: e.description)
            }
        case let e as AudioError: return from(audio: e, body: body)
        case let e as HTTPError:
            let status = Int(e.status.code)
            let code: String
            switch status {
            case 404: code = "not_found"
            case 405: code = "method_not_allowed"
            case 413: code = "body_too_large"
            default: code = status >= 500 ? "internal" : "bad_request"
            }
            return APIError(status: status, code: code, message: e.body ?? e.status.reasonPhrase)
        case let e as any HTTPResponseError:
            let status = Int(e.status.code)
            return APIError(status: status, code: status == 413 ? "body_too_large" : (status >= 500 ? "internal" : "bad_request"),
                            message: e.status.reasonPhrase)
        default:
            return APIError(status: 500, code: "internal", message: "internal error")
        }
    }

    private static func from(audio e: AudioError, body: Data?) -> APIError {
        switch e {
        case .notAudio:
            if let body, AudioContainer.sniff(body) != nil {
                return APIError(status: 400, code: "bad_audio", message: e.description)
            }
            return APIError(status: 415, code: "unsupported_format", message: e.description)
        case .unsupportedEncoding: return APIError(status: 415, code: "unsupported_encoding", message: e.description)
        case .truncated, .truncatedStream: return APIError(status: 400, code: "truncated_audio", message: e.description)
        case .empty: return APIError(status: 400, code: "empty_audio", message: e.description)
        case .nonFiniteSample, .outOfRange, .io, .corrupt: return APIError(status: 400, code: "bad_audio", message: e.description)
        case .tooLong: return APIError(status: 413, code: "audio_too_long", message: e.description)
        case .fileNotFound, .invalidOptions, .resampling: return APIError(status: 500, code: "internal", message: e.description)
        }
    }
}


#endif
